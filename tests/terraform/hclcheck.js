#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Static checks of terraform/gce with a real HCL parser (HashiCorp's, as
// WebAssembly: the npm package @cdktf/hcl2json), since there is no
// terraform binary or cloud here.
//
//   node hclcheck.js [--schema PROVIDER.jsii]... MODULE_DIR...
//
// Prints "# module DIR", then one "ok N - ..." / "not ok N - ..." line per
// check (tests/lib's format), for each directory (one process: loading the
// parser is most of the time); exit status 1 when any failed.  Checks:
//   - every .tf file and every examples/*.tfvars parses;
//   - every var.X, local.X, data.T.N and resource T.N an expression uses is
//     declared; every declared variable is used;
//   - a variable's validation refers to that variable only (Terraform < 1.9
//     allows nothing else) and every variable has a type and a description;
//   - each example sets only declared variables, every variable without a
//     default, with values of the declared type;
//   - each templatefile() names an existing template whose only template
//     sequences are ${NAME} / ${chomp(NAME)} of the variables passed, all used;
//     each file() names an existing file;
//   - with --schema (the .jsii of npm @cdktf/provider-NAME, one per provider):
//     schemacheck.js's checks, every resource, data source and provider
//     block against its provider's schema, and the version pins.
'use strict';
const fs = require('fs');
const path = require('path');
const hcl = require('@cdktf/hcl2json');
const schemacheck = require('./schemacheck.js');

let dir;
let schemas = [];
let n = 0;
let failed = 0;
function ok(desc) { n++; console.log(`ok ${n} - ${desc}`); }
function notOk(desc, details) {
  n++; failed++;
  console.log(`not ok ${n} - ${desc}`);
  for (const d of [].concat(details || [])) console.log(`#   ${d}`);
}
function check(desc, problems) {
  if (problems.length === 0) ok(desc); else notOk(desc, problems);
}

// Every string in a parsed file that holds an expression, with where it is.
function expressions(node, where, out) {
  if (typeof node === 'string') {
    if (node.includes('${') || node.includes('%{')) out.push({ expr: node, where });
  } else if (Array.isArray(node)) {
    node.forEach((x, i) => expressions(x, where, out));
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) expressions(v, where ? `${where}.${k}` : k, out);
  }
  return out;
}

// References in an expression: the parser's list, plus var./local. found
// by pattern (the parser's list misses some inside for-expressions).
async function references(file, expr) {
  const refs = new Set();
  const parsed = await hcl.getReferencesInExpression(file, expr);
  for (const r of parsed) refs.add(r.value);
  const re = /(?<![\w.])(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)/g;
  let m;
  while ((m = re.exec(expr)) !== null) refs.add(`${m[1]}.${m[2]}`);
  return [...refs];
}

function primitiveTypeOk(type, value) {
  switch (type) {
    case '${string}': return typeof value === 'string';
    case '${number}': return typeof value === 'number';
    case '${bool}': return typeof value === 'boolean';
    case '${list(string)}': return Array.isArray(value) && value.every((x) => typeof x === 'string');
    case '${map(string)}':
      return value && typeof value === 'object' && !Array.isArray(value) &&
        Object.values(value).every((x) => typeof x === 'string');
    default: return null; // a type this check does not know
  }
}

async function checkModule() {
  const tfFiles = fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  const parsed = {};
  const parseProblems = [];
  for (const f of tfFiles) {
    try {
      parsed[f] = await hcl.parse(f, fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch (e) {
      parseProblems.push(`${f}: ${String(e).split('\n')[0]}`);
    }
  }
  check(`${tfFiles.length} .tf files parse (${tfFiles.join(', ')})`,
    tfFiles.length === 0 ? ['no .tf files'] : parseProblems);
  if (parseProblems.length) return;

  const variables = {};
  const locals = new Set();
  const resources = new Set();
  const dataSources = new Set();
  const dynamicBlocks = new Set();
  for (const [f, j] of Object.entries(parsed)) {
    for (const [name, decls] of Object.entries(j.variable || {})) variables[name] = { file: f, decl: decls[0] };
    for (const block of j.locals || []) for (const name of Object.keys(block)) locals.add(name);
    for (const [type, byName] of Object.entries(j.resource || {})) {
      for (const name of Object.keys(byName)) resources.add(`${type}.${name}`);
    }
    for (const [type, byName] of Object.entries(j.data || {})) {
      for (const name of Object.keys(byName)) dataSources.add(`data.${type}.${name}`);
    }
    (function findDynamic(node) {
      if (Array.isArray(node)) node.forEach(findDynamic);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === 'dynamic' && v && typeof v === 'object') for (const b of Object.keys(v)) dynamicBlocks.add(b);
          findDynamic(v);
        }
      }
    })(j);
  }

  // References.
  const undeclared = [];
  const usedVars = new Set();
  const exprs = [];
  for (const [f, j] of Object.entries(parsed)) {
    for (const e of expressions(j, '', [])) exprs.push({ file: f, ...e });
  }
  const builtins = new Set(['count', 'each', 'path', 'self', 'terraform']);
  for (const { file, expr, where } of exprs) {
    for (const ref of await references(file, expr)) {
      const parts = ref.split('.');
      if (parts[0] === 'var') {
        usedVars.add(parts[1]);
        if (!(parts[1] in variables)) undeclared.push(`${file} ${where}: var.${parts[1]} is not declared`);
      } else if (parts[0] === 'local') {
        if (!locals.has(parts[1])) undeclared.push(`${file} ${where}: local.${parts[1]} is not declared`);
      } else if (parts[0] === 'data') {
        const id = parts.slice(0, 3).join('.').replace(/\[.*$/, '');
        if (!dataSources.has(id)) undeclared.push(`${file} ${where}: ${id} is not declared`);
      } else if (/^[a-z0-9]+_[a-z0-9_]+$/.test(parts[0]) && parts.length > 1 &&
                 !builtins.has(parts[0]) && !dynamicBlocks.has(parts[0])) {
        const id = `${parts[0]}.${parts[1].replace(/\[.*$/, '')}`;
        if (!resources.has(id)) undeclared.push(`${file} ${where}: ${id} is not declared`);
      }
    }
  }
  check(`every var., local., data. and resource reference is declared (${exprs.length} expressions)`, undeclared);
  check('every declared variable is used',
    Object.keys(variables).filter((v) => !usedVars.has(v)).map((v) => `var.${v} (${variables[v].file}) is never used`));

  // Variable declarations.
  const declProblems = [];
  for (const [name, { file, decl }] of Object.entries(variables)) {
    if (!decl.type) declProblems.push(`${file}: variable ${name} has no type`);
    if (!decl.description) declProblems.push(`${file}: variable ${name} has no description`);
    for (const v of decl.validation || []) {
      for (const ref of await references(file, v.condition)) {
        if (ref.startsWith('var.') && ref !== `var.${name}`) {
          declProblems.push(`${file}: the validation of ${name} refers to ${ref} (Terraform < 1.9 refuses that)`);
        } else if (/^(local|data)\./.test(ref)) {
          declProblems.push(`${file}: the validation of ${name} refers to ${ref}`);
        }
      }
      if (!v.error_message) declProblems.push(`${file}: a validation of ${name} has no error_message`);
    }
  }
  check(`${Object.keys(variables).length} variables have a type and a description; validations use only their own variable`,
    declProblems);

  // Examples.
  const exDir = path.join(dir, 'examples');
  const examples = fs.existsSync(exDir) ? fs.readdirSync(exDir).filter((f) => f.endsWith('.tfvars')).sort() : [];
  const required = Object.keys(variables).filter((v) => !('default' in variables[v].decl));
  for (const ex of examples) {
    const problems = [];
    let values;
    try {
      values = await hcl.parse(ex, fs.readFileSync(path.join(exDir, ex), 'utf8'));
    } catch (e) {
      notOk(`examples/${ex} parses`, String(e).split('\n')[0]);
      continue;
    }
    for (const [k, v] of Object.entries(values)) {
      if (!(k in variables)) { problems.push(`${k} is not a declared variable`); continue; }
      const t = primitiveTypeOk(variables[k].decl.type, v);
      if (t === false) problems.push(`${k} = ${JSON.stringify(v)} is not of type ${variables[k].decl.type}`);
      if (t === null) problems.push(`${k}: type ${variables[k].decl.type} is not one this check knows`);
    }
    for (const r of required) if (!(r in values)) problems.push(`${r} (no default) is not set`);
    check(`examples/${ex} sets only declared variables (${Object.keys(values).length}), all required ones, with their types`,
      problems);
  }

  // templatefile() and file().
  const tplProblems = [];
  let templates = 0;
  for (const { file, expr, where } of exprs) {
    const fileRe = /(?<![\w])file\("\$\{path\.module\}\/([^"]+)"\)/g;
    let m;
    while ((m = fileRe.exec(expr)) !== null) {
      if (!fs.existsSync(path.join(dir, m[1]))) tplProblems.push(`${file} ${where}: file ${m[1]} does not exist`);
    }
    const tplRe = /templatefile\("\$\{path\.module\}\/([^"]+)",\s*\{/g;
    while ((m = tplRe.exec(expr)) !== null) {
      templates++;
      // The object passed: up to its matching brace.
      let depth = 1;
      let i = tplRe.lastIndex;
      for (; i < expr.length && depth > 0; i++) {
        if (expr[i] === '{') depth++;
        else if (expr[i] === '}') depth--;
      }
      const obj = expr.slice(tplRe.lastIndex, i - 1);
      const passed = new Set();
      for (const km of obj.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)/gm)) passed.add(km[1]);
      const tplPath = path.join(dir, m[1]);
      if (!fs.existsSync(tplPath)) { tplProblems.push(`${file} ${where}: template ${m[1]} does not exist`); continue; }
      const text = fs.readFileSync(tplPath, 'utf8');
      const used = new Set();
      for (const s of text.matchAll(/[$%]\{[^}]*\}?/g)) {
        const sm = /^\$\{(?:chomp\()?([A-Za-z_][A-Za-z0-9_]*)\)?\}$/.exec(s[0]);
        if (!sm || (s[0].includes('chomp(') !== s[0].endsWith(')}'))) {
          tplProblems.push(`${m[1]}: template sequence ${s[0]} is not \${NAME} or \${chomp(NAME)} (escape shell \${ as $\${)`);
        } else if (!passed.has(sm[1])) {
          tplProblems.push(`${m[1]}: uses ${sm[1]}, which templatefile() does not pass (passes: ${[...passed].join(', ')})`);
        } else {
          used.add(sm[1]);
        }
      }
      for (const p of passed) if (!used.has(p)) tplProblems.push(`${m[1]}: ${p} is passed but never used`);
    }
  }
  check(`templatefile() (${templates}) and file() calls name existing files; templates use exactly what is passed`,
    templates === 0 ? ['no templatefile() call found'] : tplProblems);

  for (const { desc, problems } of schemas.length ? schemacheck.checkModule(parsed, schemas) : []) check(desc, problems);
}

async function main() {
  const args = process.argv.slice(2);
  while (args[0] === '--schema') schemas.push(schemacheck.loadSchema(args.splice(0, 2)[1]));
  for (dir of args) {
    console.log(`# module ${dir}`);
    await checkModule();
  }
}

main().then(() => {
  console.log(`# ${n} checks, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}).catch((e) => { console.log(`not ok ${n + 1} - hclcheck crashed: ${e && e.stack ? e.stack.split('\n')[0] : e}`); process.exit(1); });
