// SPDX-License-Identifier: Apache-2.0
// The provider-schema check of a Terraform module, offline: every
// resource "T" "N", data "T" "N" and provider "P" block, and every argument
// and nested block in it (recursively, through dynamic blocks' content), is
// looked up in the real provider's schema.  The schemas are the jsii
// assemblies (.jsii) of the npm packages @cdktf/provider-<name>, which
// cdktf generates from `terraform providers schema -json` of one provider
// version (the README and every docs link name it, e.g. hashicorp/google
// 6.50.0):
//   - each resource, data source and the provider is a class whose docs
//     summary is "Represents a {@link https://registry.terraform.io/
//     providers/SOURCE/VERSION/docs/resources/X TYPE}"; its base class is
//     cdktf.TerraformResource / TerraformDataSource / TerraformProvider;
//   - its constructor's `config` is an interface with one property per
//     settable argument and block (camelCase); each property's docs end
//     with "{@link ...#tf_name Class#tf_name}", the Terraform name;
//   - a block's (or object attribute's) type is another interface, alone,
//     in a union with cdktf.IResolvable, or as a list's element;
//   - computed-only attributes are getters of the class (or of the block's
//     ...OutputReference class) and absent from the interface.
// Used by hclcheck.js (--schema FILE.jsii), which parses the module.
'use strict';
const fs = require('fs');

const CLASS_LINK = /\{@link https:\/\/registry\.terraform\.io\/providers\/([\w.-]+\/[\w.-]+)\/([0-9][\w.-]*)\/docs(?:\/[\w-]+\/[\w-]+)? ([\w-]+)\}/;
const ARG_LINK = /\{@link https:\/\/registry\.terraform\.io\/providers\/[^ }]*#[\w-]+ \w+#([\w-]+)\}/;
const KINDS = { 'cdktf.TerraformResource': 'resource', 'cdktf.TerraformDataSource': 'data', 'cdktf.TerraformProvider': 'provider' };
const META = {
  resource: ['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'connection', 'provisioner'],
  data: ['count', 'for_each', 'depends_on', 'lifecycle', 'provider'],
  provider: ['alias', 'version'],
};
const DYNAMIC_KEYS = ['for_each', 'iterator', 'labels', 'content'];

// One assembly: { source, version, resource: Map, data: Map, provider, struct(fqn) }.
function loadSchema(file) {
  const types = JSON.parse(fs.readFileSync(file, 'utf8')).types;
  const schema = { file, source: null, version: null, resource: new Map(), data: new Map(), provider: null };
  const structs = new Map();
  // The Terraform name of a config property (its docs link), else snake_case.
  const tfName = (p) => {
    const m = ARG_LINK.exec(JSON.stringify(p.docs || {}));
    return m ? m[1] : p.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  };
  // The provider interface a property's type is, or holds (union, list, set).
  const structFqn = (type) => {
    if (!type) return null;
    if (type.fqn) return types[type.fqn] && types[type.fqn].kind === 'interface' ? type.fqn : null;
    if (type.union) for (const t of type.union.types) { const f = structFqn(t); if (f) return f; }
    if (type.collection && type.collection.kind === 'array') return structFqn(type.collection.elementtype);
    return null;
  };
  const primitiveLike = (type) => !!type && (['string', 'number', 'boolean'].includes(type.primitive) ||
    (type.union && type.union.types.every((t) => t.fqn === 'cdktf.IResolvable' || primitiveLike(t))) ||
    (type.collection && primitiveLike(type.collection.elementtype)));
  // A struct: its arguments by Terraform name and the names of its
  // computed-only attributes (normalised: lower case, no _), from the class
  // that reads it back.
  schema.struct = (fqn, classFqn) => {
    if (structs.has(fqn)) return structs.get(fqn);
    const s = { fqn, args: new Map(), computed: new Set() };
    structs.set(fqn, s);
    const props = [];
    (function collect(f) {
      const t = types[f];
      if (!t) return;
      props.push(...(t.properties || []));
      for (const i of t.interfaces || []) collect(i);
    })(fqn);
    for (const p of props) {
      s.args.set(tfName(p), {
        struct: structFqn(p.type),
        block: /^[\w-]+ block\.$/.test((p.docs && p.docs.summary) || ''),
        primitive: primitiveLike(p.type),
      });
    }
    const reader = types[classFqn || `${fqn}OutputReference`];
    const settable = new Set(props.map((p) => p.name));
    for (const p of (reader && reader.properties) || []) {
      if (!p.static && p.immutable && !p.name.endsWith('Input') && !settable.has(p.name)) {
        s.computed.add(p.name.toLowerCase().replace(/attribute$/, ''));
      }
    }
    return s;
  };
  for (const t of Object.values(types)) {
    const kind = t.kind === 'class' && KINDS[t.base];
    if (!kind) continue;
    const m = CLASS_LINK.exec((t.docs && t.docs.summary) || '');
    const config = t.initializer && (t.initializer.parameters || []).find((p) => p.name === 'config');
    if (!m || !config) throw new Error(`${file}: ${t.fqn}: no Terraform name in its docs or no config (not a cdktf provider?)`);
    if (schema.source && (schema.source !== m[1] || schema.version !== m[2])) {
      throw new Error(`${file}: ${t.fqn} is from ${m[1]} ${m[2]}, others from ${schema.source} ${schema.version}`);
    }
    [schema.source, schema.version] = [m[1], m[2]];
    const entry = { name: m[3], config: config.type.fqn, cls: t.fqn };
    if (kind === 'provider') schema.provider = entry; else schema[kind].set(m[3], entry);
  }
  if (!schema.provider) throw new Error(`${file}: no provider class`);
  return schema;
}

function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}
function nearest(name, known) {
  let best = null;
  let bestD = Infinity;
  for (const k of known) { const dd = distance(name, k); if (dd < bestD) { best = k; bestD = dd; } }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? `; did you mean "${best}"?` : '';
}

let checked = 0; // arguments and blocks looked up, for the check's description
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// The problems in one block body (the parsed JSON of its contents) against
// struct s.  Messages name the block (label) and the path to the argument
// (blocks and dynamic blocks in it, dotted).
function checkBody(schema, body, s, label, path, meta, problems) {
  const where = (key) => `${label}: ${[...path, key].join('.')}`;
  const unknown = (key, shown) => {
    if (s.computed.has(key.replace(/_/g, ''))) {
      problems.push(`${where(shown)} is computed by the provider (read-only), not an argument`);
    } else {
      problems.push(`${where(shown)}: no such argument or block in ${schema.source} ${schema.version}` +
        nearest(key, s.args.keys()));
    }
  };
  for (const [key, value] of Object.entries(body)) {
    if (meta.includes(key)) continue;
    if (key === 'dynamic' && isObject(value)) {
      for (const [name, blocks] of Object.entries(value)) {
        const arg = s.args.get(name);
        checked++;
        if (!arg) { unknown(name, `dynamic "${name}"`); continue; }
        if (!arg.struct) { problems.push(`${where(`dynamic "${name}"`)}: ${name} is an argument, not a block`); continue; }
        for (const b of [].concat(blocks)) {
          for (const k of Object.keys(b)) {
            if (!DYNAMIC_KEYS.includes(k)) problems.push(`${where(`dynamic "${name}"`)} has ${k} (only ${DYNAMIC_KEYS.join(', ')})`);
          }
          for (const c of [].concat(b.content || [])) {
            if (isObject(c)) checkBody(schema, c, schema.struct(arg.struct), label, [...path, name], [], problems);
          }
        }
      }
      continue;
    }
    const arg = s.args.get(key);
    checked++;
    if (!arg) { unknown(key, key); continue; }
    if (arg.struct) {
      if (arg.block && isObject(value)) problems.push(`${where(key)} is a block: write ${key} { ... }, not ${key} = { ... }`);
      for (const item of Array.isArray(value) ? value : [value]) {
        if (isObject(item)) checkBody(schema, item, schema.struct(arg.struct), label, [...path, key], [], problems);
      }
    } else if (arg.primitive && Array.isArray(value) && value.length > 0 && value.every(isObject)) {
      problems.push(`${where(key)} is an argument, not a block: write ${key} = ...`);
    }
  }
}

// Terraform version constraints ("~> 6.0", ">= 5.0, < 8.0", "6.50.0").
function versionParts(v) { return String(v).trim().replace(/^v/, '').split(/[.-]/).slice(0, 3).map((x) => parseInt(x, 10) || 0); }
function compare(a, b) { for (let i = 0; i < 3; i++) if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) - (b[i] || 0); return 0; }
function admits(constraint, version) {
  const v = versionParts(version);
  return constraint.split(',').every((part) => {
    const m = /^\s*(=|!=|>=|<=|>|<|~>)?\s*v?([0-9][\w.-]*)\s*$/.exec(part);
    if (!m) throw new Error(`version constraint "${constraint}" does not parse`);
    const op = m[1] || '=';
    const want = versionParts(m[2]);
    const c = compare(v, want);
    switch (op) {
      case '=': return c === 0;
      case '!=': return c !== 0;
      case '>': return c > 0;
      case '>=': return c >= 0;
      case '<': return c < 0;
      case '<=': return c <= 0;
      default: { // ~>: the rightmost given segment may grow
        const segs = m[2].split('.').length;
        const upper = segs <= 2 ? [want[0] + 1, 0, 0] : [want[0], want[1] + 1, 0];
        return c >= 0 && compare(v, upper) < 0;
      }
    }
  });
}

// The checks of a parsed module ({file: hcl2json output}) against schemas
// (from loadSchema): a list of { desc, problems }.
function checkModule(parsed, schemas) {
  const bySource = new Map(schemas.map((s) => [s.source, s]));
  const results = [];
  // Local provider names and their sources (required_providers).
  const required = new Map();
  for (const [file, j] of Object.entries(parsed)) {
    for (const t of j.terraform || []) {
      for (const rp of t.required_providers || []) {
        for (const [local, spec] of Object.entries(rp)) {
          required.set(local, { file, source: typeof spec === 'string' ? null : spec.source, version: typeof spec === 'string' ? spec : spec.version });
        }
      }
    }
  }
  const sourceOf = (local) => {
    const r = required.get(local);
    const src = (r && r.source) || `hashicorp/${local}`;
    return src.replace(/^registry\.terraform\.io\//, '');
  };

  // Each required provider has a schema here, and its version constraint
  // admits that schema's version.
  const pinProblems = [];
  const notes = [];
  for (const [local, r] of required) {
    const s = bySource.get(sourceOf(local));
    if (!s) { pinProblems.push(`${r.file}: required_providers.${local} (${sourceOf(local)}): no provider schema to check it against (have: ${[...bySource.keys()].join(', ')})`); continue; }
    if (!r.version) { pinProblems.push(`${r.file}: required_providers.${local} has no version constraint (the schema checked is ${s.version})`); continue; }
    try {
      if (!admits(r.version, s.version)) {
        pinProblems.push(`${r.file}: required_providers.${local} version "${r.version}" does not admit ${s.version}, the version whose schema is checked`);
      } else {
        const major = versionParts(s.version)[0];
        const others = [major - 1, major + 1].filter((m) => m >= 0 && (admits(r.version, `${m}.0.0`) || admits(r.version, `${m}.99.0`)));
        notes.push(`${local} "${r.version}" admits ${s.version}${others.length ? ` (and ${others.map((m) => `${m}.x`).join(', ')}, not checked)` : ''}`);
      }
    } catch (e) { pinProblems.push(`${r.file}: required_providers.${local}: ${e.message}`); }
  }
  results.push({ desc: `required_providers pin versions that admit the schemas checked: ${notes.join('; ') || 'none'}`, problems: pinProblems });

  // Every resource, data source and provider block.
  const problems = [];
  checked = 0;
  const counts = { resource: 0, data: 0, provider: 0 };
  for (const [file, j] of Object.entries(parsed)) {
    for (const kind of ['resource', 'data']) {
      for (const [type, byName] of Object.entries(j[kind] || {})) {
        for (const [name, bodies] of Object.entries(byName)) {
          counts[kind]++;
          const label = `${file}: ${kind === 'data' ? 'data.' : ''}${type}.${name}`;
          for (const body of [].concat(bodies)) {
            const pm = typeof body.provider === 'string' && /^\$\{([\w-]+)(\.[\w-]+)?\}$/.exec(body.provider);
            const local = pm ? pm[1] : type.split('_')[0];
            const s = bySource.get(sourceOf(local));
            if (!s) { problems.push(`${label}: no provider schema for ${sourceOf(local)} (provider "${local}")`); continue; }
            const entry = s[kind].get(type);
            if (!entry) {
              const other = s[kind === 'data' ? 'resource' : 'data'].has(type) ? ` (${type} is a ${kind === 'data' ? 'resource' : 'data source'})` : '';
              const hint = other || nearest(type, s[kind].keys());
              problems.push(`${label}: ${type} is not a ${kind === 'data' ? 'data source' : 'resource type'} of ${s.source} ${s.version}${hint}`);
              continue;
            }
            checkBody(s, body, s.struct(entry.config, entry.cls), label, [], META[kind], problems);
          }
        }
      }
    }
    for (const [local, bodies] of Object.entries(j.provider || {})) {
      counts.provider++;
      const label = `${file}: provider "${local}"`;
      const s = bySource.get(sourceOf(local));
      if (!s) { problems.push(`${label}: no provider schema for ${sourceOf(local)}`); continue; }
      for (const body of [].concat(bodies)) {
        checkBody(s, body, s.struct(s.provider.config, s.provider.cls), label, [], META.provider, problems);
      }
    }
  }
  results.push({
    desc: `${counts.resource} resources, ${counts.data} data sources and ${counts.provider} provider blocks use only ` +
      `arguments and blocks (${checked}) of their provider's schema (${schemas.map((s) => `${s.source} ${s.version}`).join(', ')})`,
    problems,
  });
  return results;
}

module.exports = { loadSchema, checkModule, admits };
