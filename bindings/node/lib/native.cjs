'use strict';
// The C ABI as koffi functions, declared from include/fidex_cdef.h at load time.
//
// Every type of the header becomes an anonymous koffi type held here (no global koffi
// type names, so two copies of this package in one process cannot collide), and every
// function a koffi function, with parameters named `out_*` marked as outputs. Nothing in
// this file names a fidex function: a function the ABI gains is available as
// `fn.fidex_new_thing` without an edit. Before anything is used the header is checked
// against the loaded library (version and every constant), so a stale library or header
// fails here with a message instead of misbehaving later.

const fs = require('node:fs');
const koffi = require('koffi');
const { locate } = require('./locate.cjs');
const { parseCdef, describeType } = require('./cdef.cjs');

function notFound(where) {
  const lines = ['fidex: the native library (libfidex) was not found.'];
  if (where.source === 'FIDEX_LIBRARY') {
    lines.push(`FIDEX_LIBRARY is set to ${where.expectedLibrary}, which does not exist.`);
  } else if (where.root) {
    lines.push(`Looked for ${where.expectedLibrary} (the checkout at ${where.root}).`);
    lines.push(`Build it with:  cargo build --release --lib   (in ${where.root}; honours CARGO_TARGET_DIR)`);
    lines.push('or run `npm run build-native` in bindings/node.');
  } else {
    lines.push('This copy of the package has no bundled library and is not inside a fidex checkout.');
    lines.push('Set FIDEX_LIBRARY to the path of libfidex.so (and FIDEX_CDEF to its fidex_cdef.h),');
    lines.push('or install from a checkout: npm install <fidex>/bindings/node, or from a tarball made there by `npm pack`.');
  }
  return new Error(lines.join('\n'));
}

const where = locate();
if (!where.library) throw notFound(where);
if (!where.cdef || !fs.existsSync(where.cdef)) {
  throw new Error(`fidex: fidex_cdef.h not found for ${where.library}; set FIDEX_CDEF to the header that matches the library`);
}
const decl = parseCdef(fs.readFileSync(where.cdef, 'utf8'));

// ---- types -------------------------------------------------------------------------

/** Header type name -> koffi type object (anonymous types; see above). */
const types = new Map();

function resolveType(typeText) {
  const { pointers, base } = describeType(typeText);
  if (types.has(base)) return pointers ? koffi.pointer(types.get(base), pointers) : types.get(base);
  return koffi.type(typeText);
}

for (const item of decl.order) {
  if (item.kind === 'opaque') {
    types.set(item.name, koffi.opaque());
  } else if (item.kind === 'alias') {
    types.set(item.name, resolveType(decl.aliases.find((a) => a.name === item.name).type));
  } else if (item.kind === 'struct') {
    const { fields } = decl.structs.find((s) => s.name === item.name);
    const members = {};
    for (const f of fields) members[f.name] = f.length === null ? resolveType(f.type) : koffi.array(resolveType(f.type), f.length, 'Typed');
    types.set(item.name, koffi.struct(members));
  }
}

/** Byte layout of a header struct: `{size, offsets: {field: byteOffset}}`, from koffi's own layout of the declaration. */
function layout(structName) {
  const t = types.get(structName);
  if (!t) throw new Error(`fidex_cdef.h declares no struct ${structName}`);
  const offsets = {};
  for (const f of decl.structs.find((s) => s.name === structName).fields) offsets[f.name] = koffi.offsetof(t, f.name);
  return { size: koffi.sizeof(t), offsets };
}

// ---- functions ---------------------------------------------------------------------

const lib = koffi.load(where.library);

/** Raw koffi functions by C name (`fn.fidex_vault_identify(...)`, `fn.fidex_vault_identify.async(...)`). */
const fn = Object.create(null);
/** Per function: `{params: [{name, type}], fallible}`; fallible = returns fidex_status with a trailing out_error. */
const signature = Object.create(null);

for (const f of decl.functions) {
  const params = f.params.map((p) => {
    const t = resolveType(p.type);
    return p.name.startsWith('out_') && describeType(p.type).pointers > 0 ? koffi.out(t) : t;
  });
  fn[f.name] = lib.func(f.name, resolveType(f.returns), params);
  const last = f.params[f.params.length - 1];
  signature[f.name] = {
    params: f.params,
    fallible: f.returns === 'fidex_status' && last !== undefined && last.name === 'out_error' && last.type === 'fidex_error **',
  };
}

for (const required of ['fidex_version', 'fidex_constants_json', 'fidex_error_code', 'fidex_error_message', 'fidex_error_item', 'fidex_error_free']) {
  if (!fn[required]) throw new Error(`fidex: ${where.cdef} does not declare ${required}`);
}

// ---- constants: the header's defines, checked against the library ----------------

/** `FIDEX_NAME` -> number (or BigInt beyond 2^53, e.g. FIDEX_AUDIT_END), exact from the header. */
const defines = Object.create(null);
for (const [name, value] of decl.defines) {
  defines[name] = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** The library's own constants document (status names, families, messages). */
const constantsDocument = JSON.parse(fn.fidex_constants_json());

function checkHeaderAgainstLibrary() {
  const headerVersion = `${defines.FIDEX_VERSION_MAJOR}.${defines.FIDEX_VERSION_MINOR}.${defines.FIDEX_VERSION_PATCH}`;
  const libraryVersion = fn.fidex_version();
  const problems = [];
  if (libraryVersion !== headerVersion) problems.push(`library version ${libraryVersion}, header version ${headerVersion}`);
  const fromLibrary = new Map(Object.entries(constantsDocument.constants));
  for (const s of constantsDocument.status) fromLibrary.set(s.name, s.code);
  for (const [name, value] of fromLibrary) {
    if (!decl.defines.has(name)) problems.push(`${name} is in the library but not in the header`);
    // JSON numbers beyond 2^53 are rounded; compare the way JSON.parse rounded them.
    else if (Number(decl.defines.get(name)) !== value) problems.push(`${name} is ${value} in the library, ${decl.defines.get(name)} in the header`);
  }
  for (const name of decl.defines.keys()) if (!fromLibrary.has(name)) problems.push(`${name} is in the header but not in the library`);
  if (problems.length) {
    throw new Error(
      `fidex: ${where.cdef} does not match ${where.library}:\n  ${problems.slice(0, 8).join('\n  ')}\n` +
        'Rebuild the library (cargo build --release --lib) or point FIDEX_LIBRARY / FIDEX_CDEF at a matching pair.',
    );
  }
}
checkHeaderAgainstLibrary();

// ---- fidex_bytes results -----------------------------------------------------------

/** Copies a `fidex_bytes *` result into a Buffer and frees it. */
function takeBuffer(bytes) {
  try {
    const len = Number(fn.fidex_bytes_len(bytes));
    if (len === 0) return Buffer.alloc(0);
    const view = koffi.view(fn.fidex_bytes_data(bytes), len);
    return Buffer.from(new Uint8Array(view, 0, len)); // Buffer.from(Uint8Array) copies
  } finally {
    fn.fidex_bytes_free(bytes);
  }
}

/** Text or JSON result as a string (fidex text never contains NUL), freed. */
function takeText(bytes) {
  try {
    return fn.fidex_bytes_cstr(bytes);
  } finally {
    fn.fidex_bytes_free(bytes);
  }
}

/** Reads `len` bytes at `offset` of a `fidex_bytes *` without freeing it (for payload slices). */
function viewBytes(bytes) {
  const len = Number(fn.fidex_bytes_len(bytes));
  return len === 0 ? new Uint8Array(0) : new Uint8Array(koffi.view(fn.fidex_bytes_data(bytes), len), 0, len);
}

/** Address of an exported function (the benchmark's C loop calls it through this pointer). */
function symbolAddress(name) {
  return lib.symbol(name);
}

module.exports = {
  koffi,
  symbolAddress,
  fn,
  signature,
  defines,
  constantsDocument,
  layout,
  takeBuffer,
  takeText,
  viewBytes,
  location: { library: where.library, cdef: where.cdef, source: where.source },
  declarations: decl,
};
