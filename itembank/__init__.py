"""certbank item bank: bilingual items, frameworks, forms and their history in one SQLite file."""
