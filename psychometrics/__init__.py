"""certbank psychometrics."""
