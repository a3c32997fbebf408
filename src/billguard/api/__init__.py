"""The REST API: the same services as the CLI, over HTTP, described by an OpenAPI 3 document."""
