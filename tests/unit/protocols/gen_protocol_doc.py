#!/usr/bin/env python3
# The 'Messages by family' tables of docs/protocols.md, generated from the protocols/ headers.
# Usage: gen_protocol_doc.py            print the tables
#        gen_protocol_doc.py --write    rewrite them in docs/protocols.md
#        gen_protocol_doc.py --check    exit 1 if docs/protocols.md differs (a ctest runs this)
import re, glob, os, sys
doc_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'docs', 'protocols.md')
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'protocols'))
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
alltext = ''.join(open(f).read() for f in glob.glob('*.hpp'))
# handlers
handlers = {}
for m in re.finditer(r'using (\w+_actor)\s*=\s*caf::typed_actor<(.*?)>;', alltext, re.S):
    iface, body = m.group(1), m.group(2)
    for r in re.finditer(r'replies_to<(\w+)>::with<(\w+)>', body):
        handlers.setdefault(r.group(1), []).append((iface, r.group(2)))
    for r in re.finditer(r'reacts_to<(\w+)>', body):
        handlers.setdefault(r.group(1), []).append((iface, None))
replies = {}
for k, v in handlers.items():
    for iface, rep in v:
        if rep: replies.setdefault(rep, set()).add(k)
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
        if line.startswith('static') or line.startswith('friend') or line.startswith('//') or not line:
            above = []
            continue
        fm = re.match(r'(.+?)\s+(\w+)(\s*=\s*[^;]+)?;\s*(///<\s*(.*))?', line)
        if fm and '(' not in fm.group(1):
            meaning = fm.group(5) or ' '.join(above)
            fields[fm.group(2)] = (fm.group(1).strip(), (fm.group(3) or '').replace('=', '').strip(), meaning)
        above = []
    return fields
def inspect_order(text, name):
    m = re.search(r'inspect\(Inspector& f, %s&( x)?\) \{(.*?)\n\}' % name, text, re.S)
    if not m: return []
    return re.findall(r'x\.(\w+)', m.group(2))
out = []
for fname, title in families:
    text = open(fname).read()
    out.append('### %s\n\n`protocols/%s`\n' % (title, fname))
    nested = []
    for m in re.finditer(r'struct (\w+) \{\n(?!\s*static constexpr message_meta)', text):
        sname = m.group(1)
        order = inspect_order(text, sname)
        if not order: continue
        fields = struct_fields(text, sname)
        nested.append('- `%s` = `[%s]`' % (sname, ', '.join('%s: %s' % (f, fields.get(f, ('?',))[0]) for f in order)))
    if nested:
        out.append('Nested types (arrays of their fields, in this order):\n')
        out.extend(nested)
        out.append('')
    for m in re.finditer(r'(///[^\n]*\n(?:///[^\n]*\n)*)struct (\w+) \{\n\s*static constexpr message_meta meta\{(0x[0-9A-F]+), "(\w+)", (\d+), (\d+)\};', text):
        doc, sname, tid, name, ver, minf = m.groups()
        doc = ' '.join(l.strip()[3:].strip() for l in doc.strip().split('\n'))
        fields = struct_fields(text, sname)
        order = inspect_order(text, sname)
        out.append('#### `%s` — %s, version %s, min_fields %s\n' % (name, tid, ver, minf))
        out.append(doc + '\n')
        if order:
            out.append('| # | field | type | default | meaning |')
            out.append('|---|---|---|---|---|')
            for i, f in enumerate(order):
                t, d, c = fields.get(f, ('?', '', ''))
                req = ' (required)' if i < int(minf) else ''
                out.append('| %d | `%s`%s | `%s` | %s | %s |' % (i, f, req, t, ('`%s`' % d) if d else '', c))
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
mode = sys.argv[1] if len(sys.argv) > 1 else ''
if mode not in ('', '--write', '--check'):
    sys.exit('usage: gen_protocol_doc.py [--write | --check]')
if not mode:
    sys.stdout.write(generated)
    sys.exit(0)
doc = open(doc_path).read()
begin = doc.index('### ' + families[0][1])
end = doc.index('## Adding or changing a message')
if mode == '--write':
    open(doc_path, 'w').write(doc[:begin] + generated + doc[end:])
elif doc[begin:end] != generated:
    sys.exit('docs/protocols.md: the message tables differ from protocols/*.hpp; run '
             'python3 tests/unit/protocols/gen_protocol_doc.py --write')
