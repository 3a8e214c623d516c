"""The vocabulary of generated job postings: titles, companies, places, skills, prose.

Shared by `load_demo_data` (demo data of a chosen size, written from Python on any database) and
the benchmarks' SQL seeding (`bench/seeding.py`, a million rows in PostgreSQL), so demo data and
benchmark data read alike. The benchmarks' search figures depend on these lists: how common a
word is follows from its list's length and, for `COMMON_WORDS`, its position. No Django imports:
the load-test and benchmark scripts import this before Django is set up.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


LEVELS = ["", "", "Junior", "Senior", "Senior", "Staff", "Lead", "Principal"]
FIELDS = [
    "Python", "Java", "Go", "Rust", "JavaScript", "TypeScript", "Ruby", "PHP", "Kotlin",
    "Swift", "Scala", "Elixir", "Data", "Machine Learning", "Cloud", "Security", "QA",
    "Mobile", "Frontend", "Backend", "Full Stack", "DevOps", "Site Reliability", "Platform",
    "Embedded", "Database",
]  # fmt: skip
ROLES = [
    "Engineer", "Developer", "Architect", "Analyst", "Scientist", "Manager", "Consultant",
    "Specialist", "Administrator", "Designer",
]  # fmt: skip
COMPANY_NAMES = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Vandelay", "Soylent",
    "Tyrell", "Cyberdyne", "Wonka", "Aperture", "Massive", "Nimbus", "Quantum", "Blue Harbor",
    "Northwind", "Contoso", "Fabrikam", "Pied Piper", "Dunder", "Oscorp", "Gringotts",
    "Monarch", "Prestige", "Sirius", "Vortex", "Zenith", "Orbital", "Copperline", "Redwood",
    "Silverlake", "Ironbridge", "Brightside", "Lumen", "Helix", "Polaris", "Evergreen", "Atlas",
]  # fmt: skip
COMPANY_SUFFIXES = [
    "Labs", "Systems", "Technologies", "Group", "Software", "Digital", "Analytics", "Health",
    "Finance", "Logistics",
]  # fmt: skip
LOCATIONS = [
    "Berlin", "Lisbon", "London", "Paris", "Madrid", "Amsterdam", "Dublin", "Warsaw", "Prague",
    "Vienna", "Zurich", "Stockholm", "Oslo", "Copenhagen", "Helsinki", "Tallinn", "Toronto",
    "Vancouver", "Montreal", "Boston", "Chicago", "Austin", "Denver", "Seattle", "Portland",
    "New York", "San Francisco", "Los Angeles", "Mexico City", "Bogota", "Sao Paulo",
    "Buenos Aires", "Nairobi", "Lagos", "Cape Town", "Cairo", "Bangalore", "Singapore",
    "Tokyo", "Sydney",
]  # fmt: skip
# In order of frequency: the skewed draw favours the start of the list.
COMMON_WORDS = _words(
    """
team product customers build design develop support growth culture remote flexible benefits
experience years strong communication skills collaborate ownership impact mission fast paced
environment opportunity learning mentoring career health insurance equity salary bonus vacation
hybrid office modern stack scalable reliable systems services platform data quality testing
review code documentation agile scrum sprint roadmap stakeholders business requirements
solutions problems analytical creative detail oriented motivated passionate innovative startup
enterprise global international diverse inclusive hiring interview process apply today join
help shape future world class engineers designers managers leaders partners clients projects
deliver features improve performance security infrastructure cloud automation monitoring
incidents operations deployment pipelines continuous integration delivery success sales
marketing finance legal compliance research analysis reporting dashboards metrics goals
quarterly planning priorities tradeoffs architecture microservices apis integrations mobile web
applications users accessibility internationalization payments checkout recommendations
personalization notifications messaging onboarding training knowledge sharing conferences
budget equipment laptop stipend parental leave wellness gym lunch snacks relocation visa
sponsorship
"""
)
SKILLS = _words(
    """
python django flask fastapi java spring kotlin scala golang rust ruby rails php laravel
javascript typescript react angular vue svelte nodejs swift android ios flutter csharp dotnet
elixir erlang haskell clojure sql postgresql mysql mongodb redis cassandra elasticsearch kafka
rabbitmq spark hadoop airflow dbt snowflake bigquery aws gcp azure kubernetes docker terraform
ansible linux graphql grpc pytorch tensorflow pandas numpy tableau figma
"""
)
CODENAME_ADJECTIVES = _words(
    """
silver golden crimson azure amber emerald scarlet violet ivory obsidian copper cobalt jade
onyx ruby sapphire topaz coral indigo saffron frosty misty stormy sunny windy rapid silent
hidden brave clever gentle mighty nimble quiet swift bold lucky noble proud wild
"""
)
CODENAME_ANIMALS = _words(
    """
falcon otter badger heron lynx panther raven walrus beaver bison cobra condor coyote crane
dingo eagle ferret gazelle gecko hawk ibis jackal koala lemur marmot narwhal ocelot osprey
pelican puffin quokka salmon stork tapir toucan viper weasel wombat yak zebra
"""
)
# For the generated people of the demo data.
FIRST_NAMES = _words(
    """
Ada Alan Amara Aiko Ben Carla Chen Dmitri Elena Farah Grace Hugo Ines Jonas Kofi Lena Mateo
Mina Nadia Omar Priya Rafael Sara Tomas Uma Victor Wen Yusuf Zoe Luca
"""
)
LAST_NAMES = _words(
    """
Almeida Becker Costa Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Kowalski Larsen
Moreau Novak Okafor Petrov Quinn Rossi Schmidt Tanaka Urban Varga Weber Xu Yilmaz Zimmermann
"""
)
