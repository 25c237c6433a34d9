#!/usr/bin/env python3
# The generated part of docs/protocols.md ('Enums', 'Type aliases', 'Nested types' and
# 'Messages by family'), from the protocols/ headers.
# It also writes shell/message_fields.inc: the field names and types of every message and
# nested type in wire order, the enums and the aliases, which fusion-shell uses to build a
# message from key=value pairs or a Lua table (docs/shell.md).
# Usage: gen_protocol_doc.py            print the generated part
#        gen_protocol_doc.py --write    rewrite it in docs/protocols.md and shell/message_fields.inc
#        gen_protocol_doc.py --check    exit 1 if either differs (a ctest runs this)
# Every mode first checks the headers can be documented completely: every enumerator has an
# explicit value, every struct field is in its inspect() and back, and every field type is a
# scalar, an alias, an enum, a nested type or a message this script found. It also checks the
# hand-written errors table against fusion::errc.
import re, glob, os, sys
here = os.path.dirname(os.path.abspath(__file__))
doc_path = os.path.join(here, '..', '..', '..', 'docs', 'protocols.md')
fields_path = os.path.join(here, '..', '..', '..', 'shell', 'message_fields.inc')
os.chdir(os.path.join(here, '..', '..', '..', 'protocols'))
families = [
 ('service_lifecycle.hpp', 'Service lifecycle (§4.5.1), session (0x0E) and common replies'),
 ('inter_service.hpp', 'Inter-service (§4.5.2), family 0x03'),
 ('resource_management.hpp', 'Resource management (§4.5.3), family 0x04'),
 ('orchestration_management.hpp', 'Orchestration management (§5.5.1), family 0x05, and service records (0x0F)'),
 ('zone_management.hpp', 'Zone management (§5.5.2), family 0x06, and zone records (0x0F)'),
 ('inter_domain_routing.hpp', 'Inter-domain routing (§5.5.3.1), family 0x07'),
 ('routing_management.hpp', 'Routing management (§5.5.4), family 0x08'),
 ('zone_orchestration.hpp', 'Zone orchestration (§6.4.1), family 0x09, and evaluators (0x10)'),
 ('dc_management.hpp', 'DC management (§6.4.4), family 0x0A'),
 ('slots.hpp', 'Session slots (§4.3), family 0x0B'),
 ('gossip.hpp', 'Gossip membership and discovery (§6.2), family 0x0C'),
 ('auction.hpp', 'Auctions (§7.2), family 0x0D'),
 ('records.hpp', 'Deployment records (0x0F)'),
]
# Headers in documentation order: the shared types first, then the families, then any other.
headers = ['common.hpp', 'manifest.hpp'] + [f for f, _ in families]
headers += sorted(f for f in glob.glob('*.hpp') if f not in headers)
texts = {f: open(f).read() for f in headers}
alltext = ''.join(texts.values())
problems = []  # reasons the headers cannot be documented; any makes the script fail

# Scalars the codec writes directly (codec::writer::put), with their wire form.
scalars = {
    'bool': 'msgpack boolean (`true`/`false`)',
    'uint8_t': 'msgpack integer, 0..255', 'uint16_t': 'msgpack integer, 0..65535',
    'uint32_t': 'msgpack integer, 0..2^32−1', 'uint64_t': 'msgpack integer, 0..2^64−1',
    'int8_t': 'msgpack integer, −128..127', 'int16_t': 'msgpack integer, −2^15..2^15−1',
    'int32_t': 'msgpack integer, −2^31..2^31−1', 'int64_t': 'msgpack integer, −2^63..2^63−1',
    'double': 'msgpack float64 (always, also for whole numbers; see "Scalars")',
    'std::string': 'msgpack str',
}

def doc_comment(block):
    return ' '.join(l.strip()[3:].strip() for l in block.strip().split('\n')) if block else ''

# ---- enums --------------------------------------------------------------------------------
def parse_enums(fname, text):
    out = []
    for m in re.finditer(r'((?:///[^\n]*\n)*)enum class (\w+) : (\w+) \{(.*?)\n\};', text, re.S):
        doc, name, under, body = m.groups()
        values, above = [], []
        for line in body.split('\n'):
            line = line.strip()
            if line.startswith('///') and not line.startswith('///<'):
                above.append(line[3:].strip())
                continue
            if not line or line.startswith('//'):
                continue
            em = re.match(r'(\w+)(?:\s*=\s*(-?\d+))?\s*,?\s*(?:///<\s*(.*))?$', line)
            if not em:
                problems.append('%s: enum %s: cannot read the line "%s"' % (fname, name, line))
                continue
            if em.group(2) is None:
                problems.append('%s: enum %s: %s has no explicit value (write "= N": the '
                                'number is what goes on the wire)' % (fname, name, em.group(1)))
                continue
            values.append((int(em.group(2)), em.group(1), em.group(3) or ' '.join(above)))
            above = []
        out.append((name, under, fname, doc_comment(doc), values))
    return out

enums = [e for f in headers for e in parse_enums(f, texts[f])]
enum_names = {e[0] for e in enums}
wire_enums = [e for e in enums if e[0] != 'errc']  # errc is the Errors table, not a field

# ---- aliases ------------------------------------------------------------------------------
aliases = []
for f in headers:
    for m in re.finditer(r'((?:///[^\n]*\n)+)using (\w+) = ([^;]+);', texts[f]):
        doc, name, target = m.groups()
        if target.startswith(('caf::', 'type_list<')) or re.match(r'\w+_actor::extend<', target):
            continue  # actor interfaces and the message list, not data
        aliases.append((name, ' '.join(target.split()), f, doc_comment(doc)))
alias_names = {a[0] for a in aliases}

# ---- structs ------------------------------------------------------------------------------
def struct_fields(text, name):
    m = re.search(r'struct %s \{(.*?)\n\};' % name, text, re.S)
    fields = {}
    if not m: return fields
    above = []  # a `///` comment on the lines before a field documents it
    for line in m.group(1).split('\n'):
        line = line.strip()
        if line.startswith('///') and not line.startswith('///<'):
            above.append(line[3:].strip())
            continue
        if (line.startswith(('static', 'friend', '//')) or line.endswith('= default;') or
                not line):  # a friend operator== may wrap onto a second line
            above = []
            continue
        fm = re.match(r'(.+?)\s+(\w+)(\s*=\s*[^;]+)?;\s*(///<\s*(.*))?', line)
        if fm and '(' not in fm.group(1):
            meaning = fm.group(5) or ' '.join(above)
            fields[fm.group(2)] = (fm.group(1).strip(), (fm.group(3) or '').replace('=', '', 1).strip(), meaning)
        above = []
    return fields

def inspect_order(text, name):
    m = re.search(r'inspect\(Inspector& f, %s&( x)?\) \{(.*?)\n\}' % name, text, re.S)
    if not m: return None
    return re.findall(r'x\.(\w+)', m.group(2))

def struct_info(fname, text, name):
    fields = struct_fields(text, name)
    order = inspect_order(text, name) or []
    for f in order:
        if f not in fields:
            problems.append('%s: %s: inspect() names x.%s, which is not a field the script can '
                            'read' % (fname, name, f))
    for f in fields:
        if f not in order:
            problems.append('%s: %s: field %s is not in inspect(), so it is not on the wire' %
                            (fname, name, f))
    return fields, order

messages = {}  # name -> (fname, struct)
nested = []    # (name, fname, doc, fields, order)
for f in headers:
    text = texts[f]
    for m in re.finditer(r'((?:///[^\n]*\n)*)struct (\w+) \{\n(\s*static constexpr message_meta)?', text):
        doc, sname, is_msg = m.groups()
        if inspect_order(text, sname) is None:
            continue
        if is_msg:
            messages[sname] = f
            continue
        fields, order = struct_info(f, text, sname)
        nested.append((sname, f, doc_comment(doc), fields, order))
nested_names = {n[0] for n in nested}

def check_type(t, where):
    t = t.strip()
    m = re.match(r'(?:std::vector|shared)<(.*)>$', t)
    if m:
        return check_type(m.group(1), where)
    m = re.match(r'std::map<(.*)>$', t)
    if m:
        depth, parts, cur = 0, [], ''
        for ch in m.group(1):
            depth += ch == '<'
            depth -= ch == '>'
            if ch == ',' and depth == 0:
                parts.append(cur); cur = ''
            else:
                cur += ch
        parts.append(cur)
        for p in parts: check_type(p, where)
        return
    if t in scalars or t in alias_names or t in enum_names or t in nested_names or t in messages:
        return
    problems.append('%s: type %s is neither a scalar, an alias, an enum, a nested type nor a '
                    'message that this script found' % (where, t))

for name, target, f, _ in aliases:
    check_type(target, '%s: alias %s' % (f, name))

def enum_default(d):
    d = d.replace('std::numeric_limits<double>::infinity()', 'inf')  # float64 ±infinity
    d = re.sub(r"(?<=\d)'(?=\d)", '', d)  # C++ digit separators: 30'000 is 30000
    m = re.match(r'(\w+)::(\w+)$', d)
    if m and m.group(1) in enum_names:
        for e in enums:
            if e[0] == m.group(1):
                for v, n, _ in e[4]:
                    if n == m.group(2):
                        return '`%s` (%d)' % (d, v)
    return '`%s`' % d

def field_table(fname, sname, fields, order, required=0):
    rows = ['| # | field | type | default | meaning |', '|---|---|---|---|---|']
    for i, f in enumerate(order):
        t, d, c = fields.get(f, ('?', '', ''))
        check_type(t, '%s: %s.%s' % (fname, sname, f))
        req = ' (required)' if i < required else ''
        rows.append('| %d | `%s`%s | `%s` | %s | %s |' % (i, f, req, t, enum_default(d) if d else '', c))
    return rows

# ---- handlers -----------------------------------------------------------------------------
handlers = {}
for m in re.finditer(r'using (\w+_actor)\s*=\s*(?:caf::typed_actor|\w+_actor::extend)<(.*?)>;',
                     alltext, re.S):
    iface, body = m.group(1), m.group(2)
    for r in re.finditer(r'replies_to<(\w+)>::with<(\w+)>', body):
        handlers.setdefault(r.group(1), []).append((iface, r.group(2)))
    for r in re.finditer(r'reacts_to<(\w+)>', body):
        handlers.setdefault(r.group(1), []).append((iface, None))
replies = {}
for k, v in handlers.items():
    for iface, rep in v:
        if rep: replies.setdefault(rep, set()).add(k)

# ---- output -------------------------------------------------------------------------------
out = []
out.append('## Enums\n')
unders = sorted({e[1] for e in wire_enums})
out.append('An enum goes on the wire as the msgpack integer of its value below, which fits its '
           'underlying type (%s). A reader keeps a value it does not know as that integer and '
           'treats it like the enum\'s default. Generated from the headers.\n' %
           (('all are `%s`' % unders[0]) if len(unders) == 1 else 'named in each heading'))
for name, under, f, doc, values in wire_enums:
    out.append('### `%s` — %s, `protocols/%s`\n' % (name, under, f))
    if doc: out.append(doc + '\n')
    out.append('| value | name | meaning |')
    out.append('|---|---|---|')
    for v, n, c in values:
        out.append('| %d | `%s` | %s |' % (v, n, c))
    out.append('')

out.append('## Type aliases\n')
out.append('Names the tables use for other types; on the wire each is exactly its definition. '
           'Generated from the headers.\n')
out.append('| alias | definition | header | meaning |')
out.append('|---|---|---|---|')
for name, target, f, doc in aliases:
    out.append('| `%s` | `%s` | `protocols/%s` | %s |' % (name, target, f, doc))
out.append('')

out.append('## Nested types\n')
out.append('A nested type is a msgpack array of its fields in the order of its table (its '
           '`inspect()` order). Like a message body it may be shorter (the missing trailing fields '
           'take the defaults below) or longer (extra trailing elements are ignored); nested types '
           'have no `min_fields`, so even `[]` decodes to the defaults. A blank default is the '
           'empty value (`""`, `[]`, `{}`), or for a nested type its own defaults. Generated from '
           'the headers.\n')
for sname, f, doc, fields, order in nested:
    out.append('### `%s` — `protocols/%s`, %d field%s\n' % (sname, f, len(order), '' if len(order) == 1 else 's'))
    if doc: out.append(doc + '\n')
    out.extend(field_table(f, sname, fields, order))
    out.append('')

out.append('## Messages by family\n')
out.append('Tables list fields in wire order; "(required)" marks the first `min_fields` fields. '
           '"Handled by" names the typed actor interface (in the same header) and its reply. A '
           'message that appears as a field of another (`zone_evaluate_batch.requests`, '
           '`preselection.candidates`, ...) is its body there: the array of its fields, without '
           'envelope, and its `min_fields` is not enforced. Generated from the headers by '
           '`python3 tests/unit/protocols/gen_protocol_doc.py --write`; the ctest '
           '`protocol_doc_in_sync` fails when they drift from the code, and `registry_test` '
           'checks that every registered message has its heading here, with the code\'s id, '
           'version and min_fields.\n')
for fname, title in families:
    text = texts[fname]
    out.append('### %s\n\n`protocols/%s`\n' % (title, fname))
    here_nested = [n[0] for n in nested if n[1] == fname]
    if here_nested:
        out.append('Nested types defined here (tables under "Nested types"): %s.\n' %
                   ', '.join('`%s`' % n for n in here_nested))
    for m in re.finditer(r'(///[^\n]*\n(?:///[^\n]*\n)*)struct (\w+) \{\n\s*static constexpr message_meta meta\{(0x[0-9A-F]+), "(\w+)", (\d+), (\d+)\};', text):
        doc, sname, tid, name, ver, minf = m.groups()
        fields, order = struct_info(fname, text, sname)
        out.append('#### `%s` — %s, version %s, min_fields %s\n' % (name, tid, ver, minf))
        out.append(doc_comment(doc) + '\n')
        if order:
            out.extend(field_table(fname, sname, fields, order, int(minf)))
            out.append('')
        else:
            out.append('No fields.\n')
        hs = handlers.get(name, [])
        if hs:
            parts = []
            for iface, rep in hs:
                parts.append('`%s` → %s' % (iface, ('`%s`' % rep) if rep else 'no reply (fire-and-forget)'))
            out.append('Handled by: ' + '; '.join(parts) + '.\n')
        if name in replies:
            out.append('Reply to: ' + ', '.join('`%s`' % r for r in sorted(replies[name])) + '.\n')
        if not hs and name not in replies:
            out.append('Durable record: written to the store through the registry codec (and embedded in replies); not sent as a request.\n')
generated = '\n'.join(out) + '\n'

# ---- shell/message_fields.inc -------------------------------------------------------------
def c_str(x):
    return '"%s"' % x.replace('\\', '\\\\').replace('"', '\\"')

inc = ['// Generated by tests/unit/protocols/gen_protocol_doc.py --write from protocols/*.hpp: do',
       '// not edit. Field names and types of every message and nested type in wire (inspect())',
       '// order, every enum value and every alias; included by shell/schema.cpp.',
       '']
inc.append('inline constexpr generated_type generated_types[] = {')
rows = []
for f in headers:
    text = texts[f]
    for m in re.finditer(r'struct (\w+) \{\n(\s*static constexpr message_meta)?', text):
        sname, is_msg = m.groups()
        order = inspect_order(text, sname)
        if order is None:
            continue
        inc.append('    {%s, %s},' % (c_str(sname), 'true' if is_msg else 'false'))
        fields = struct_fields(text, sname)
        for fld in order:
            rows.append('    {%s, %s, %s},' % (c_str(sname), c_str(fld), c_str(' '.join(fields.get(fld, ('?',))[0].split()))))
inc.append('};')
inc.append('')
inc.append('inline constexpr generated_field generated_fields[] = {')
inc.extend(rows)
inc.append('};')
inc.append('')
inc.append('inline constexpr generated_enum_value generated_enum_values[] = {')
for name, under, f, doc, values in enums:
    for v, n, _ in values:
        inc.append('    {%s, %s, %d, %s},' % (c_str(name), c_str(under), v, c_str(n)))
inc.append('};')
inc.append('')
inc.append('inline constexpr generated_alias generated_aliases[] = {')
for name, target, f, _ in aliases:
    inc.append('    {%s, %s},' % (c_str(name), c_str(target)))
inc.append('};')
fields_inc = '\n'.join(inc) + '\n'

mode = sys.argv[1] if len(sys.argv) > 1 else ''
if mode not in ('', '--write', '--check'):
    sys.exit('usage: gen_protocol_doc.py [--write | --check]')
if problems:
    sys.exit('protocols/*.hpp cannot be documented completely:\n  ' + '\n  '.join(problems))
if not mode:
    sys.stdout.write(generated)
    sys.exit(0)
doc = open(doc_path).read()
begin = doc.index('## Enums\n')
end = doc.index('## Adding or changing a message')
if mode == '--write':
    doc = doc[:begin] + generated + doc[end:]
    open(doc_path, 'w').write(doc)
    open(fields_path, 'w').write(fields_inc)
elif not os.path.exists(fields_path) or open(fields_path).read() != fields_inc:
    sys.exit('shell/message_fields.inc differs from protocols/*.hpp; run python3 '
             'tests/unit/protocols/gen_protocol_doc.py --write')
elif doc[begin:end] != generated:
    sys.exit('docs/protocols.md: the generated tables (enums, aliases, nested types, messages) '
             'differ from protocols/*.hpp; run python3 tests/unit/protocols/gen_protocol_doc.py --write')
# The hand-written errors table must list every fusion::errc code with its name, in order.
errc = [e for e in enums if e[0] == 'errc']
errors = doc[doc.index('## Errors'):]
errors = errors[:errors.index('\n## ')]
rows = re.findall(r'^\| (\d+) \| `(\w+)` \|', errors, re.M)
want = [(str(v), n) for v, n, _ in errc[0][4]] if errc else []
if rows != want:
    sys.exit('docs/protocols.md: the errors table lists %s but protocols/errc.hpp has %s' %
             (rows, want))
