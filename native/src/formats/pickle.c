/*
 * pickle.c -- an allow-list interpreter for torch state-dict pickles.
 *
 * The pickle format is a program for a stack machine; Python's unpickler
 * imports any module the program names and calls any object it builds, which
 * is how a hostile .bin runs code. This machine only knows the opcodes that
 * plain data needs (numbers, strings, tuples, lists, dicts, memo, mark) plus
 * REDUCE/BINPERSID/BUILD restricted to the few torch globals a state dict
 * uses. Values are tagged objects in one arena freed at the end; no object is
 * ever traversed recursively, so hostile nesting cannot exhaust the C stack.
 *
 * Bounds: every read is checked against the input; the memo index is capped
 * by the input size and MAX_MEMO (a real pickle's memo keys are consecutive),
 * the number of objects by MAX_OBJECTS; the stack, the mark stack and
 * container sizes grow only as opcodes are consumed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pickle.h"

/* ------------------------------------------------------------- objects */

typedef enum obj_kind {
    OBJ_NONE, OBJ_BOOL, OBJ_INT, OBJ_FLOAT, OBJ_STR, OBJ_TUPLE, OBJ_LIST, OBJ_DICT,
    OBJ_GLOBAL, OBJ_STORAGE, OBJ_TENSOR
} obj_kind;

static const char *const kind_names[] = {"None", "bool", "int", "float", "str", "tuple", "list",
                                         "dict", "global", "storage", "tensor"};

/* The globals a state dict may name. Storage classes come last. */
typedef enum global_id {
    G_ORDERED_DICT, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE_FIRST
} global_id;

static const struct {
    const char *module, *name;
    rt5__elem_type type; /* storage classes only */
} allowed_globals[] = {
    {"collections", "OrderedDict", RT5__ELEM_COUNT},
    {"torch._utils", "_rebuild_tensor_v2", RT5__ELEM_COUNT},
    {"torch._utils", "_rebuild_parameter", RT5__ELEM_COUNT},
    {"torch", "FloatStorage", RT5__ELEM_F32},
    {"torch", "HalfStorage", RT5__ELEM_F16},
    {"torch", "BFloat16Storage", RT5__ELEM_BF16},
    {"torch", "DoubleStorage", RT5__ELEM_F64},
    {"torch", "CharStorage", RT5__ELEM_I8},
    {"torch", "ByteStorage", RT5__ELEM_U8},
    {"torch", "ShortStorage", RT5__ELEM_I16},
    {"torch", "IntStorage", RT5__ELEM_I32},
    {"torch", "LongStorage", RT5__ELEM_I64},
    {"torch", "BoolStorage", RT5__ELEM_BOOL},
};

typedef struct obj obj;

/* A tensor view, kept out of line so that every other object stays small. */
typedef struct tensor_desc {
    const obj *storage;
    int64_t offset;
    int32_t n_dims;
    int64_t shape[RT5__MAX_DIMS], strides[RT5__MAX_DIMS];
} tensor_desc;

struct obj {
    obj_kind kind;
    union {
        int64_t i;                                  /* BOOL, INT            */
        double f;                                   /* FLOAT                */
        struct { const char *p; size_t n; } s;      /* STR, into the input  */
        struct { obj **items; size_t n, cap; } seq; /* TUPLE, LIST; DICT
                                                       holds k0 v0 k1 v1... */
        int global;                                 /* GLOBAL               */
        struct {
            rt5__elem_type type;
            const obj *key;
            int64_t numel;
        } storage;
        tensor_desc *tensor;                        /* TENSOR, owned        */
    } u;
};

/* ------------------------------------------------------------- machine */

/* Caps that keep a hostile pickle's memory bounded: a real state dict uses
 * about 15 objects and 8 memo slots per tensor (t5-3b: ~3,300 objects). */
#define MAX_OBJECTS (1u << 21)
#define MAX_MEMO (1u << 21)

typedef struct vm {
    const uint8_t *in;
    size_t size, pos, op_at; /* op_at: offset of the current opcode */
    rt5__errmsg *err;
    obj **all;               /* every object, freed together */
    size_t n_all, cap_all;
    obj **stack;
    size_t n_stack, cap_stack;
    size_t *marks;
    size_t n_marks, cap_marks;
    obj **memo;
    size_t cap_memo;
} vm;

static rt5_status oom(vm *m)
{
    if (m->n_all >= MAX_OBJECTS)
        return rt5__fail(m->err, RT5_ERR_UNSUPPORTED, "pickle builds more than %u objects; a "
                         "state dict needs a few per tensor", (unsigned)MAX_OBJECTS);
    return rt5__fail(m->err, RT5_ERR_OUT_OF_MEMORY, "out of memory reading pickle");
}

static rt5_status bad(vm *m, const char *what)
{
    return rt5__fail(m->err, RT5_ERR_FORMAT, "malformed pickle at offset %zu: %s", m->op_at, what);
}

static obj *new_obj(vm *m, obj_kind kind)
{
    if (m->n_all >= MAX_OBJECTS)
        return NULL;
    if (!rt5__grow_zeroed((void **)&m->all, &m->cap_all, m->n_all + 1, sizeof *m->all))
        return NULL;
    obj *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->kind = kind;
    m->all[m->n_all++] = o;
    return o;
}

static rt5_status push(vm *m, obj *o)
{
    if (!o || !rt5__grow_zeroed((void **)&m->stack, &m->cap_stack, m->n_stack + 1, sizeof *m->stack))
        return oom(m);
    m->stack[m->n_stack++] = o;
    return RT5_OK;
}

static rt5_status push_new(vm *m, obj_kind kind, obj **out)
{
    *out = new_obj(m, kind);
    return push(m, *out);
}

/* The bottom of the current mark frame: items above it belong to the op. */
static size_t frame_base(const vm *m)
{
    return m->n_marks ? m->marks[m->n_marks - 1] : 0;
}

static rt5_status pop(vm *m, obj **out)
{
    if (m->n_stack <= frame_base(m))
        return bad(m, "stack underflow");
    *out = m->stack[--m->n_stack];
    return RT5_OK;
}

static rt5_status pop_mark(vm *m, size_t *base)
{
    if (m->n_marks == 0)
        return bad(m, "no MARK to pop to (mark stack underflow)");
    *base = m->marks[--m->n_marks];
    return RT5_OK;
}

/* Appends the n stack items from index `from` to a tuple/list/dict. */
static rt5_status append_items(vm *m, obj *seq, size_t from, size_t n)
{
    size_t need;
    if (n == 0)
        return RT5_OK;
    if (!rt5__add_size(seq->u.seq.n, n, &need) ||
        !rt5__grow_zeroed((void **)&seq->u.seq.items, &seq->u.seq.cap, need, sizeof(obj *)))
        return oom(m);
    memcpy(seq->u.seq.items + seq->u.seq.n, m->stack + from, n * sizeof(obj *));
    seq->u.seq.n = need;
    return RT5_OK;
}

/* Reads n bytes of operand. */
static rt5_status take(vm *m, size_t n, const uint8_t **out)
{
    if (n > m->size - m->pos)
        return bad(m, "truncated operand");
    *out = m->in + m->pos;
    m->pos += n;
    return RT5_OK;
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------- opcodes */

static rt5_status op_int(vm *m, size_t width, bool is_signed)
{
    const uint8_t *p = NULL;
    rt5_status st = take(m, width, &p);
    if (st != RT5_OK)
        return st;
    uint64_t v = le(p, width);
    obj *o;
    if ((st = push_new(m, OBJ_INT, &o)) != RT5_OK)
        return st;
    o->u.i = is_signed ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
    return RT5_OK;
}

/* LONG1: a little-endian two's-complement integer of up to 8 bytes. */
static rt5_status op_long1(vm *m)
{
    const uint8_t *p = NULL, *n = NULL;
    rt5_status st = take(m, 1, &n);
    if (st != RT5_OK || (st = take(m, *n, &p)) != RT5_OK)
        return st;
    if (*n > 8)
        return rt5__fail(m->err, RT5_ERR_UNSUPPORTED, "pickle integer of %u bytes at offset %zu "
                         "is too large", *n, m->op_at);
    uint64_t v = le(p, *n);
    if (*n > 0 && *n < 8 && (p[*n - 1] & 0x80))
        v |= ~(uint64_t)0 << (8 * *n); /* sign-extend */
    obj *o;
    if ((st = push_new(m, OBJ_INT, &o)) != RT5_OK)
        return st;
    o->u.i = (int64_t)v;
    return RT5_OK;
}

static rt5_status op_float(vm *m)
{
    const uint8_t *p = NULL;
    rt5_status st = take(m, 8, &p);
    if (st != RT5_OK)
        return st;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = (bits << 8) | p[i]; /* big-endian */
    obj *o;
    if ((st = push_new(m, OBJ_FLOAT, &o)) != RT5_OK)
        return st;
    memcpy(&o->u.f, &bits, sizeof bits);
    return RT5_OK;
}

static rt5_status op_unicode(vm *m, size_t len_width)
{
    const uint8_t *lp = NULL, *p = NULL;
    rt5_status st = take(m, len_width, &lp);
    if (st != RT5_OK)
        return st;
    uint64_t n = le(lp, len_width);
    if (n > m->size - m->pos)
        return bad(m, "string runs past the end");
    if ((st = take(m, (size_t)n, &p)) != RT5_OK)
        return st;
    obj *o;
    if ((st = push_new(m, OBJ_STR, &o)) != RT5_OK)
        return st;
    o->u.s.p = (const char *)p;
    o->u.s.n = (size_t)n;
    return RT5_OK;
}

static rt5_status op_simple(vm *m, obj_kind kind, int64_t value)
{
    obj *o;
    rt5_status st = push_new(m, kind, &o);
    if (st == RT5_OK)
        o->u.i = value;
    return st;
}

/* Reads "text\n" from the input (a GLOBAL operand). */
static rt5_status take_line(vm *m, const char **s, size_t *n)
{
    const uint8_t *start = m->in + m->pos;
    const uint8_t *nl = memchr(start, '\n', m->size - m->pos);
    if (!nl)
        return bad(m, "GLOBAL operand without newline");
    *s = (const char *)start;
    *n = (size_t)(nl - start);
    m->pos += *n + 1;
    return RT5_OK;
}

static bool text_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static rt5_status op_global(vm *m)
{
    const char *mod = NULL, *name = NULL;
    size_t nmod = 0, nname = 0;
    rt5_status st = take_line(m, &mod, &nmod);
    if (st != RT5_OK || (st = take_line(m, &name, &nname)) != RT5_OK)
        return st;
    for (size_t g = 0; g < RT5_ARRAY_LEN(allowed_globals); g++) {
        if (text_is(mod, nmod, allowed_globals[g].module) &&
            text_is(name, nname, allowed_globals[g].name)) {
            obj *o;
            if ((st = push_new(m, OBJ_GLOBAL, &o)) == RT5_OK)
                o->u.global = (int)g;
            return st;
        }
    }
    /* Print the refused name safely: at most 100 bytes each, no controls. */
    char shown[2][104];
    const char *src[2] = {mod, name};
    size_t len[2] = {nmod, nname};
    for (int k = 0; k < 2; k++) {
        size_t n = RT5_MIN(len[k], (size_t)100);
        for (size_t i = 0; i < n; i++)
            shown[k][i] = (src[k][i] >= 0x20 && src[k][i] < 0x7f) ? src[k][i] : '?';
        shown[k][n] = 0;
    }
    return rt5__fail(m->err, RT5_ERR_REFUSED, "refused pickle global '%s.%s' at offset %zu: only "
                     "torch tensor-rebuild globals are allowed; nothing was executed",
                     shown[0], shown[1], m->op_at);
}

static rt5_status op_memo_put(vm *m, size_t width)
{
    const uint8_t *p = NULL;
    rt5_status st = take(m, width, &p);
    if (st != RT5_OK)
        return st;
    uint64_t index = le(p, width);
    if (m->n_stack == 0)
        return bad(m, "memo PUT on an empty stack");
    if (index >= m->size || index >= MAX_MEMO)
        return bad(m, "memo index larger than the pickle or the memo limit");
    if (!rt5__grow_zeroed((void **)&m->memo, &m->cap_memo, (size_t)index + 1, sizeof *m->memo))
        return oom(m);
    m->memo[index] = m->stack[m->n_stack - 1];
    return RT5_OK;
}

static rt5_status op_memo_get(vm *m, size_t width)
{
    const uint8_t *p = NULL;
    rt5_status st = take(m, width, &p);
    if (st != RT5_OK)
        return st;
    uint64_t index = le(p, width);
    if (index >= m->cap_memo || !m->memo[index])
        return bad(m, "memo GET of an index never PUT");
    return push(m, m->memo[index]);
}

static rt5_status op_mark(vm *m)
{
    if (!rt5__grow_zeroed((void **)&m->marks, &m->cap_marks, m->n_marks + 1, sizeof *m->marks))
        return oom(m);
    m->marks[m->n_marks++] = m->n_stack;
    return RT5_OK;
}

/* Replaces the top n stack items by one tuple of them. */
static rt5_status make_tuple(vm *m, size_t n)
{
    if (m->n_stack - frame_base(m) < n)
        return bad(m, "stack underflow building a tuple");
    obj *t = new_obj(m, OBJ_TUPLE);
    if (!t)
        return oom(m);
    rt5_status st = append_items(m, t, m->n_stack - n, n);
    if (st != RT5_OK)
        return st;
    m->n_stack -= n;
    return push(m, t);
}

/* TUPLE, LIST, DICT: a container of the items since the last MARK. */
static rt5_status op_from_mark(vm *m, obj_kind kind)
{
    size_t base = 0;
    rt5_status st = pop_mark(m, &base);
    if (st != RT5_OK)
        return st;
    size_t n = m->n_stack - base;
    if (kind == OBJ_DICT && n % 2)
        return bad(m, "DICT with an odd number of items");
    obj *o = new_obj(m, kind);
    if (!o)
        return oom(m);
    if ((st = append_items(m, o, base, n)) != RT5_OK)
        return st;
    m->n_stack = base;
    return push(m, o);
}

/* SETITEM/SETITEMS/APPEND/APPENDS: add the top items to the container
 * below them. from_mark selects the MARK-delimited forms. */
static rt5_status op_add_items(vm *m, obj_kind want, bool from_mark)
{
    size_t base = m->n_stack;
    rt5_status st;
    if (from_mark && (st = pop_mark(m, &base)) != RT5_OK)
        return st;
    if (!from_mark) {
        size_t n = want == OBJ_DICT ? 2 : 1;
        if (m->n_stack - frame_base(m) < n)
            return bad(m, "stack underflow adding items");
        base = m->n_stack - n;
    }
    size_t n = m->n_stack - base;
    if (base == frame_base(m) || base == 0)
        return bad(m, "no container below the items");
    obj *target = m->stack[base - 1];
    if (target->kind != want)
        return rt5__fail(m->err, RT5_ERR_REFUSED, "pickle at offset %zu adds items to a %s; only "
                         "%s is allowed", m->op_at, kind_names[target->kind], kind_names[want]);
    if (want == OBJ_DICT && n % 2)
        return bad(m, "SETITEMS with an odd number of items");
    if ((st = append_items(m, target, base, n)) != RT5_OK)
        return st;
    m->n_stack = base;
    return RT5_OK;
}

static rt5_status op_pop(vm *m)
{
    obj *o = NULL;
    return pop(m, &o);
}

/* ------------------------------------------------------------- torch calls */

static bool is_int_tuple(const obj *o, size_t max_n)
{
    if (o->kind != OBJ_TUPLE || o->u.seq.n > max_n)
        return false;
    for (size_t i = 0; i < o->u.seq.n; i++)
        if (o->u.seq.items[i]->kind != OBJ_INT || o->u.seq.items[i]->u.i < 0)
            return false;
    return true;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 * backward_hooks[, metadata]) */
static rt5_status rebuild_tensor(vm *m, const obj *args, obj **out)
{
    obj *const *a = args->u.seq.items;
    size_t n = args->u.seq.n;
    if (n < 6 || n > 7 || a[0]->kind != OBJ_STORAGE || a[1]->kind != OBJ_INT || a[1]->u.i < 0 ||
        !is_int_tuple(a[2], RT5__MAX_DIMS) || !is_int_tuple(a[3], RT5__MAX_DIMS) ||
        a[2]->u.seq.n != a[3]->u.seq.n || a[4]->kind != OBJ_BOOL || a[5]->kind != OBJ_DICT)
        return rt5__fail(m->err, RT5_ERR_FORMAT, "pickle at offset %zu: _rebuild_tensor_v2 called "
                         "with unexpected arguments (or more than %d dimensions)", m->op_at,
                         RT5__MAX_DIMS);
    obj *t = new_obj(m, OBJ_TENSOR);
    if (!t)
        return oom(m);
    tensor_desc *td = t->u.tensor = calloc(1, sizeof *td);
    if (!td)
        return oom(m);
    td->storage = a[0];
    td->offset = a[1]->u.i;
    td->n_dims = (int32_t)a[2]->u.seq.n;
    for (size_t d = 0; d < a[2]->u.seq.n; d++) {
        td->shape[d] = a[2]->u.seq.items[d]->u.i;
        td->strides[d] = a[3]->u.seq.items[d]->u.i;
    }
    *out = t;
    return RT5_OK;
}

static rt5_status op_reduce(vm *m)
{
    obj *args = NULL, *fn = NULL;
    rt5_status st = pop(m, &args);
    if (st != RT5_OK || (st = pop(m, &fn)) != RT5_OK)
        return st;
    if (fn->kind != OBJ_GLOBAL || args->kind != OBJ_TUPLE)
        return rt5__fail(m->err, RT5_ERR_REFUSED, "pickle at offset %zu calls a %s; only allowed "
                         "globals may be called", m->op_at, kind_names[fn->kind]);
    obj *result = NULL;
    switch (fn->u.global) {
    case G_ORDERED_DICT:
        if (args->u.seq.n != 0)
            return bad(m, "OrderedDict called with arguments");
        result = new_obj(m, OBJ_DICT);
        break;
    case G_REBUILD_TENSOR_V2:
        if ((st = rebuild_tensor(m, args, &result)) != RT5_OK)
            return st;
        break;
    case G_REBUILD_PARAMETER: /* (tensor, requires_grad, backward_hooks) */
        if (args->u.seq.n != 3 || args->u.seq.items[0]->kind != OBJ_TENSOR)
            return bad(m, "_rebuild_parameter called with unexpected arguments");
        result = args->u.seq.items[0];
        break;
    default:
        return rt5__fail(m->err, RT5_ERR_REFUSED, "pickle at offset %zu calls storage class "
                         "'torch.%s', which may only appear in a persistent id", m->op_at,
                         allowed_globals[fn->u.global].name);
    }
    return push(m, result);
}

/* BINPERSID: ('storage', <StorageClass>, key, location, numel). */
static rt5_status op_persid(vm *m)
{
    obj *pid = NULL;
    rt5_status st = pop(m, &pid);
    if (st != RT5_OK)
        return st;
    obj *const *a = pid->u.seq.items;
    if (pid->kind != OBJ_TUPLE || pid->u.seq.n != 5 || a[0]->kind != OBJ_STR ||
        !text_is(a[0]->u.s.p, a[0]->u.s.n, "storage") || a[1]->kind != OBJ_GLOBAL ||
        a[1]->u.global < G_STORAGE_FIRST || a[2]->kind != OBJ_STR || a[3]->kind != OBJ_STR ||
        a[4]->kind != OBJ_INT || a[4]->u.i < 0)
        return rt5__fail(m->err, RT5_ERR_REFUSED, "pickle at offset %zu: persistent id is not "
                         "('storage', torch.<Type>Storage, key, location, size)", m->op_at);
    obj *s;
    if ((st = push_new(m, OBJ_STORAGE, &s)) != RT5_OK)
        return st;
    s->u.storage.type = allowed_globals[a[1]->u.global].type;
    s->u.storage.key = a[2];
    s->u.storage.numel = a[4]->u.i;
    return RT5_OK;
}

/* BUILD sets an object's state. Only a dict's (torch attaches _metadata to
 * the state dict this way) is accepted, and the state is ignored. */
static rt5_status op_build(vm *m)
{
    obj *state = NULL;
    rt5_status st = pop(m, &state);
    if (st != RT5_OK)
        return st;
    if (m->n_stack <= frame_base(m))
        return bad(m, "BUILD with nothing to build");
    obj *target = m->stack[m->n_stack - 1];
    if (target->kind != OBJ_DICT)
        return rt5__fail(m->err, RT5_ERR_REFUSED, "pickle at offset %zu: BUILD on a %s is not "
                         "allowed", m->op_at, kind_names[target->kind]);
    return RT5_OK;
}

/* ------------------------------------------------------------- dispatch */

static const struct {
    uint8_t code;
    const char *name;
} refused_opcodes[] = {
    {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"},
    {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {'P', "PERSID"}, {'I', "INT"},
    {'L', "LONG"}, {0x8b, "LONG4"}, {'S', "STRING"}, {'T', "BINSTRING"},
    {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {0x8d, "BINUNICODE8"}, {'F', "FLOAT"},
    {'2', "DUP"}, {'1', "POP_MARK"}, {'g', "GET"}, {'p', "PUT"}, {'B', "BINBYTES"},
    {'C', "SHORT_BINBYTES"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};

static rt5_status refuse_opcode(vm *m, uint8_t code)
{
    for (size_t i = 0; i < RT5_ARRAY_LEN(refused_opcodes); i++)
        if (refused_opcodes[i].code == code)
            return rt5__fail(m->err, RT5_ERR_REFUSED, "refused pickle opcode %s (0x%02x) at "
                             "offset %zu: not in the allow-list; nothing was executed",
                             refused_opcodes[i].name, code, m->op_at);
    return rt5__fail(m->err, RT5_ERR_FORMAT, "unknown pickle opcode 0x%02x at offset %zu", code,
                     m->op_at);
}

static rt5_status op_proto(vm *m)
{
    const uint8_t *p = NULL;
    rt5_status st = take(m, 1, &p);
    if (st == RT5_OK && (*p < 2 || *p > 5))
        return rt5__fail(m->err, RT5_ERR_UNSUPPORTED, "pickle protocol %u is not supported", *p);
    return st;
}

/* Runs one opcode; *stop is set by STOP. */
static rt5_status step(vm *m, bool *stop)
{
    m->op_at = m->pos;
    uint8_t code = m->in[m->pos++];
    switch (code) {
    case 0x80: return op_proto(m);
    case 'c': return op_global(m);
    case 'q': return op_memo_put(m, 1);
    case 'r': return op_memo_put(m, 4);
    case 'h': return op_memo_get(m, 1);
    case 'j': return op_memo_get(m, 4);
    case '(': return op_mark(m);
    case ')': return make_tuple(m, 0);
    case 0x85: return make_tuple(m, 1);
    case 0x86: return make_tuple(m, 2);
    case 0x87: return make_tuple(m, 3);
    case 't': return op_from_mark(m, OBJ_TUPLE);
    case 'l': return op_from_mark(m, OBJ_LIST);
    case 'd': return op_from_mark(m, OBJ_DICT);
    case '}': return op_simple(m, OBJ_DICT, 0);
    case ']': return op_simple(m, OBJ_LIST, 0);
    case 's': return op_add_items(m, OBJ_DICT, false);
    case 'u': return op_add_items(m, OBJ_DICT, true);
    case 'a': return op_add_items(m, OBJ_LIST, false);
    case 'e': return op_add_items(m, OBJ_LIST, true);
    case 'X': return op_unicode(m, 4);
    case 0x8c: return op_unicode(m, 1); /* SHORT_BINUNICODE */
    case 'J': return op_int(m, 4, true);
    case 'K': return op_int(m, 1, false);
    case 'M': return op_int(m, 2, false);
    case 0x8a: return op_long1(m);
    case 'G': return op_float(m);
    case 'N': return op_simple(m, OBJ_NONE, 0);
    case 0x88: return op_simple(m, OBJ_BOOL, 1);
    case 0x89: return op_simple(m, OBJ_BOOL, 0);
    case '0': return op_pop(m);
    case 'R': return op_reduce(m);
    case 'Q': return op_persid(m);
    case 'b': return op_build(m);
    case '.': *stop = true; return RT5_OK;
    default: return refuse_opcode(m, code);
    }
}

static void vm_free(vm *m)
{
    for (size_t i = 0; i < m->n_all; i++) {
        obj *o = m->all[i];
        if (o->kind == OBJ_TUPLE || o->kind == OBJ_LIST || o->kind == OBJ_DICT)
            free(o->u.seq.items);
        else if (o->kind == OBJ_TENSOR)
            free(o->u.tensor);
        free(o);
    }
    free(m->all);
    free(m->stack);
    free(m->marks);
    free(m->memo);
}

/* ------------------------------------------------------------- result */

static char *dup_text(const obj *s)
{
    if (memchr(s->u.s.p, 0, s->u.s.n))
        return NULL;
    char *p = malloc(s->u.s.n + 1);
    if (p) {
        memcpy(p, s->u.s.p, s->u.s.n);
        p[s->u.s.n] = 0;
    }
    return p;
}

static rt5_status export_tensor(vm *m, const obj *key, const obj *t, rt5__pickle_tensor *out)
{
    const tensor_desc *td = t->u.tensor;
    const obj *storage = td->storage;
    out->name = dup_text(key);
    out->storage_key = dup_text(storage->u.storage.key);
    if (!out->name || !out->storage_key)
        return rt5__fail(m->err, RT5_ERR_FORMAT, "pickle: out of memory, or a NUL byte in tensor "
                         "name or storage key");
    out->type = storage->u.storage.type;
    out->storage_numel = storage->u.storage.numel;
    out->offset = td->offset;
    out->n_dims = td->n_dims;
    memcpy(out->shape, td->shape, sizeof out->shape);
    memcpy(out->strides, td->strides, sizeof out->strides);
    return RT5_OK;
}

static rt5_status export_dict(vm *m, const obj *dict, rt5__pickle_state_dict *out)
{
    size_t n_pairs = dict->u.seq.n / 2;
    out->tensors = calloc(n_pairs + 1, sizeof *out->tensors);
    if (!out->tensors)
        return oom(m);
    for (size_t i = 0; i < n_pairs; i++) {
        const obj *k = dict->u.seq.items[2 * i], *v = dict->u.seq.items[2 * i + 1];
        if (k->kind != OBJ_STR || v->kind != OBJ_TENSOR) {
            out->n_skipped++;
            continue;
        }
        rt5_status st = export_tensor(m, k, v, &out->tensors[out->n_tensors++]);
        if (st != RT5_OK)
            return st;
    }
    return RT5_OK;
}

rt5_status rt5__pickle_read_state_dict(const uint8_t *bytes, size_t size,
                                       rt5__pickle_state_dict *out, rt5__errmsg *err)
{
    memset(out, 0, sizeof *out);
    vm m = {.in = bytes, .size = size, .err = err};
    bool stop = false;
    rt5_status st = RT5_OK;
    while (st == RT5_OK && !stop) {
        if (m.pos >= m.size)
            st = rt5__fail(err, RT5_ERR_FORMAT, "pickle is truncated: no STOP opcode");
        else
            st = step(&m, &stop);
    }
    if (st == RT5_OK && (m.n_stack == 0 || m.stack[m.n_stack - 1]->kind != OBJ_DICT))
        st = rt5__fail(err, RT5_ERR_FORMAT, "pickle does not hold a dict of tensors (found %s)",
                       m.n_stack ? kind_names[m.stack[m.n_stack - 1]->kind] : "nothing");
    if (st == RT5_OK)
        st = export_dict(&m, m.stack[m.n_stack - 1], out);
    vm_free(&m);
    if (st != RT5_OK)
        rt5__pickle_state_dict_free(out);
    return st;
}

void rt5__pickle_state_dict_free(rt5__pickle_state_dict *sd)
{
    if (!sd)
        return;
    for (size_t i = 0; i < sd->n_tensors; i++) {
        free(sd->tensors[i].name);
        free(sd->tensors[i].storage_key);
    }
    free(sd->tensors);
    memset(sd, 0, sizeof *sd);
}
