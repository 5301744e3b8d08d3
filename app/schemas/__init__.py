"""Request and response models of the REST API: per resource Create, Update and Public."""
