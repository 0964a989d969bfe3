"""marshmallow schemas: one input and one output schema per endpoint."""
