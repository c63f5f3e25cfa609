"""Validates JSON documents against a hashline JSON Schema with the independent Python
`jsonschema` validator (pip install jsonschema).

usage: python3 schemas/validate.py SCHEMA DOCS.json
DOCS.json holds a JSON array of documents; prints one line per document, OK or ERR <reason>.
Prints NO-JSONSCHEMA and exits 0 when the module is missing, so callers can say what to install.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("NO-JSONSCHEMA")
    sys.exit(0)

schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
for doc in json.load(open(sys.argv[2])):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    print("OK" if not errors else "ERR " + errors[0].message.replace("\n", " "))
