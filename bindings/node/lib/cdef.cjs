'use strict';
// Reads include/fidex_cdef.h (generated from fidex.h by the core's tests, never hand-kept)
// into plain declarations: constants, typedefs, structs and function prototypes. The
// binding declares every koffi type and function from this, so a new ABI function is
// usable (through `native.fn.<name>`) without any edit here.
//
// The header's grammar is small and fixed by cbindgen (`style = "type"`, no preprocessor
// conditionals): `#define NAME <integer>`, `typedef struct NAME NAME;` (opaque handles),
// `typedef <integer type> NAME;` (enums and status), `typedef struct { ... } NAME;` (plain
// structs) and `<return type> name(<params>);`. Anything else is an error, so a header
// change the parser does not understand fails loudly at load time (and in the tests)
// instead of silently dropping a declaration.

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

/** Parses one parameter such as `const fidex_facial_id *id` or `uint8_t bytes[16]`. */
function parseDeclarator(decl) {
  const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(\d+)\])?$/.exec(decl.trim());
  if (!m) throw new Error(`fidex_cdef.h: cannot read declaration "${decl}"`);
  const type = m[1].replace(/\s+/g, ' ').replace(/\s*\*\s*/g, ' *').trim().replace(/ \*/g, ' *').replace(/\* \*/g, '**');
  return { type, name: m[2], length: m[3] === undefined ? null : Number(m[3]) };
}

/** `{type: 'const char *', pointers: 1, base: 'char', isConst: true}` */
function describeType(type) {
  const pointers = (type.match(/\*/g) || []).length;
  const isConst = /^const\b/.test(type);
  const base = type.replace(/\*/g, '').replace(/^const\s+/, '').trim();
  return { pointers, isConst, base };
}

/**
 * @param {string} text contents of fidex_cdef.h
 * @returns {{defines: Map<string, bigint>, opaque: string[], aliases: Array<{name: string, type: string}>,
 *   structs: Array<{name: string, fields: Array<{type: string, name: string, length: number|null}>}>,
 *   functions: Array<{name: string, returns: string, params: Array<{type: string, name: string}>, prototype: string}>,
 *   order: Array<{kind: string, name: string}>}}
 */
function parseCdef(text) {
  const defines = new Map();
  for (const m of text.matchAll(/^#define\s+([A-Z0-9_]+)\s+(-?\d+)\s*$/gm)) defines.set(m[1], BigInt(m[2]));
  const otherDirective = /^#(?!define\s+[A-Z0-9_]+\s+-?\d+\s*$).*$/m.exec(text);
  if (otherDirective) throw new Error(`fidex_cdef.h: unexpected preprocessor line "${otherDirective[0]}"`);

  const body = stripComments(text).replace(/^#define[^\n]*$/gm, ' ');
  const opaque = [];
  const aliases = [];
  const structs = [];
  const functions = [];
  const order = [];
  // Statements end with `;` at brace depth 0.
  let depth = 0;
  let start = 0;
  const statements = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ';' && depth === 0) {
      statements.push(body.slice(start, i).replace(/\s+/g, ' ').trim());
      start = i + 1;
    }
  }
  if (body.slice(start).trim() !== '') throw new Error(`fidex_cdef.h: trailing text "${body.slice(start).trim().slice(0, 80)}"`);

  for (const s of statements) {
    let m;
    if ((m = /^typedef struct ([A-Za-z_]\w*) ([A-Za-z_]\w*)$/.exec(s)) && m[1] === m[2]) {
      opaque.push(m[1]);
      order.push({ kind: 'opaque', name: m[1] });
    } else if ((m = /^typedef struct \{(.*)\} ([A-Za-z_]\w*)$/.exec(s))) {
      const fields = m[1].split(';').map((f) => f.trim()).filter(Boolean).map(parseDeclarator);
      structs.push({ name: m[2], fields });
      order.push({ kind: 'struct', name: m[2] });
    } else if ((m = /^typedef ([A-Za-z_][\w ]*?) ([A-Za-z_]\w*)$/.exec(s))) {
      aliases.push({ name: m[2], type: m[1] });
      order.push({ kind: 'alias', name: m[2] });
    } else if ((m = /^(.*?[\s*])([A-Za-z_]\w*)\s*\((.*)\)$/.exec(s))) {
      const returns = m[1].replace(/\s*\*\s*/g, ' *').trim();
      const raw = m[3].trim();
      const params = raw === '' || raw === 'void' ? [] : raw.split(',').map(parseDeclarator);
      functions.push({ name: m[2], returns, params, prototype: `${returns} ${m[2]}(${params.map((p) => `${p.type} ${p.name}`).join(', ')})` });
      order.push({ kind: 'function', name: m[2] });
    } else {
      throw new Error(`fidex_cdef.h: cannot read statement "${s.slice(0, 120)}"`);
    }
  }
  return { defines, opaque, aliases, structs, functions, order };
}

module.exports = { parseCdef, describeType };
