"""REST: one module per domain (`accounts`, `jobs`, `applications`: views and the shapes they
read and answer), the public documents the listings cache serves (`listings`), and what they
share: strict fields, the OpenAPI schema, URLs, pagination, permissions, throttles, errors."""
