"""GraphQL (graphene-django) at `/api/graphql/`: a second interface beside `core.api`.

One module per domain (`accounts`, `jobs`, `applications`), the schema (`schema`), the limits a
query must pass before it runs (`limits`), the errors a client may see (`errors`) and the HTTP
view (`view`). Resolvers are thin: they call the domains' selectors and services, as REST does.
"""
