# Round-trip harness of the Python client models (run by codegen/test/clients/python.test.ts): reads
# cases.json, parses every example into its model class (and through its union's parse function), writes
# it back with to_dict(), and prints one JSON line per case and way.
import json
import re
import sys

sys.path.insert(0, sys.argv[1])
import makapix_models  # noqa: E402


def emit(case, via, parse):
    out = {'id': case['id'], 'via': via}
    try:
        out['json'] = parse(json.loads(json.dumps(case['json']))).to_dict()
    except Exception as e:  # every failure is a reported mismatch
        out['error'] = '%s: %s' % (type(e).__name__, e)
    print(json.dumps(out))


def parser(name):
    model = getattr(makapix_models, name)
    if hasattr(model, 'from_dict'):
        return model.from_dict
    # a union: its parse function
    return getattr(makapix_models, 'parse_' + re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name).lower())


with open(sys.argv[2]) as f:
    cases = json.load(f)
for case in cases:
    emit(case, 'model', parser(case['model']))
    if case.get('union'):
        emit(case, 'union', parser(case['union']))
