"""HTTP resources: thin routers (parse -> domain -> serialize) under /api/v1."""
