"""GraphQL types, inputs, result unions and the Schema object (strawberry). Thin by design."""
