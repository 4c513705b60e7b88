"""What the API does: permission-scoped queries, mutations, dataloaders and services."""
