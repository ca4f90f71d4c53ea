"""The GraphQL API: core types, the composition of plugin contributions, limits and errors."""
