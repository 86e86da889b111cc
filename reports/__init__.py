"""certbank reports."""
