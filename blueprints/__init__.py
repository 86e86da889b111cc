"""certbank blueprints."""
