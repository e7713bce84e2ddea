/* A call's preparation for matching (qa_engine.rules.context.CallContext) in C.

   Why: building a call's prepared utterances took ~200 us per 80-utterance call in Python, spread over numpy
   table look-ups, regex passes for the numerals, string splits and 80 object creations; the work per character is
   tiny, so the overhead was the cost.  Each function here is one step of the Python reference in qa_engine/text.py
   and qa_engine/rules/matching.py, with the same tables (handed over by the caller, read-only here), and answers
   None where that step's fast path would not apply: the caller then runs the Python reference, which is the
   definition of the result.

   Threads: every function holds the GIL while it touches Python objects (the screen's RE2 match, called through
   the binding, releases it) and keeps no state between calls: the interned names and the numeral bitmap are set
   once at module init. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#define BMP 0x10000

static PyObject *str_role, *str_agent, *str_customer;

/* ---- tables ------------------------------------------------------------------------------------------------ */

/* A read-only contiguous buffer of exactly `size` bytes (a numpy table or a bytes object). */
static int table_view(PyObject *obj, Py_buffer *view, Py_ssize_t size, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view->len != size) {
        PyErr_Format(PyExc_ValueError, "%s: a table of %zd bytes was expected, got %zd", what, size, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int is_surrogate(Py_UCS4 c) { return c >= 0xD800 && c <= 0xDFFF; }

/* ---- Chinese numerals (text.cn_numerals_to_digits) ------------------------------------------------------------ */

/* The characters _CN_ANY finds (零〇○一幺二两三四五六七八九十百千), one bit per BMP code unit: most characters of
   a call are none of them, and one look-up answers that (set once at module init, read-only after). */
static unsigned char cn_numeral_bits[BMP / 8];

static int is_cn_numeral(Py_UCS4 c) { return c < BMP && (cn_numeral_bits[c >> 3] >> (c & 7)) & 1; }

/* The digit of a numeral of _CN_DIGITS (零〇○一幺二三四五六七八九), else -1. */
static int cn_digit(Py_UCS4 c) {
    if (!is_cn_numeral(c))
        return -1;
    switch (c) {
    case 0x96F6: case 0x3007: case 0x25CB: return 0;  /* 零 〇 ○ */
    case 0x4E00: case 0x5E7A: return 1;               /* 一 幺 */
    case 0x4E8C: return 2;                            /* 二 */
    case 0x4E09: return 3;                            /* 三 */
    case 0x56DB: return 4;                            /* 四 */
    case 0x4E94: return 5;                            /* 五 */
    case 0x516D: return 6;                            /* 六 */
    case 0x4E03: return 7;                            /* 七 */
    case 0x516B: return 8;                            /* 八 */
    case 0x4E5D: return 9;                            /* 九 */
    default: return -1;
    }
}

#define CN_YAO 0x5E7A      /* 幺: a digit (one) that is never read as a value */
#define CN_ZERO 0x96F6     /* 零 */
#define CN_TWO 0x4E24      /* 两 */
#define CN_TEN 0x5341      /* 十 */
#define CN_HUNDRED 0x767E  /* 百 */
#define CN_THOUSAND 0x5343 /* 千 */

static int cn_unit(Py_UCS4 c) {
    return c == CN_TEN ? 10 : c == CN_HUNDRED ? 100 : c == CN_THOUSAND ? 1000 : 0;
}

/* [一二两三四五六七八九]: a digit before a unit */
static int cn_lead(Py_UCS4 c) { return c == CN_TWO || (c != CN_YAO && cn_digit(c) > 0); }
/* [一二三四五六七八九]: the ones after 十 */
static int cn_ones(Py_UCS4 c) { return c != CN_YAO && cn_digit(c) > 0; }
/* [零一二两三四五六七八九十]: what may follow 百 or 千 */
static int cn_tail(Py_UCS4 c) { return c == CN_ZERO || c == CN_TEN || cn_lead(c); }

/* The end of the _CN_VALUE match at i, or -1: "[一二两三四五六七八九]?十[一二三四五六七八九]?" first (as the
   regex alternation tries it), then "[一二两三四五六七八九][百千][零一二两三四五六七八九十]{0,3}". */
static Py_ssize_t cn_value_end(const uint16_t *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t e = -1;
    if (cn_lead(s[i]) && i + 1 < n && s[i + 1] == CN_TEN)
        e = i + 2;
    else if (s[i] == CN_TEN)
        e = i + 1;
    if (e >= 0)
        return (e < n && cn_ones(s[e])) ? e + 1 : e;
    if (cn_lead(s[i]) && i + 1 < n && (s[i + 1] == CN_HUNDRED || s[i + 1] == CN_THOUSAND)) {
        e = i + 2;
        for (int k = 0; k < 3 && e < n && cn_tail(s[e]); k++)
            e++;
        return e;
    }
    return -1;
}

/* text._cn_value of s[a:b] written at out; returns how many digits (at most 4: the value is below 10,000). */
static Py_ssize_t cn_value(const uint16_t *s, Py_ssize_t a, Py_ssize_t b, uint16_t *out) {
    long total = 0, digit = 0;
    for (Py_ssize_t i = a; i < b; i++) {
        int unit = cn_unit(s[i]);
        if (unit) {
            total += (digit ? digit : 1) * unit;
            digit = 0;
        } else if (s[i] == CN_TWO) {
            digit = 2;
        } else if (cn_digit(s[i]) >= 0) {
            digit = cn_digit(s[i]);
        }
    }
    char buf[24];
    int len = snprintf(buf, sizeof buf, "%ld", total + digit);
    for (int k = 0; k < len; k++)
        out[k] = (uint16_t)buf[k];
    return len;
}

/* cn_numerals_to_digits over s[0:n] into out (room for 2n: a match of one character, 十, becomes two digits and
   no match grows faster); units: whether s holds 十, 百 or 千 (else _CN_VALUE cannot match).  Returns the new
   length. */
static Py_ssize_t cn_numerals(const uint16_t *s, Py_ssize_t n, int units, uint16_t *out) {
    Py_ssize_t m = 0;
    if (units) {  /* _CN_VALUE.sub: the leftmost match, then on after it */
        for (Py_ssize_t i = 0; i < n;) {
            Py_ssize_t e = is_cn_numeral(s[i]) ? cn_value_end(s, n, i) : -1;
            if (e < 0) {
                out[m++] = s[i++];
            } else {
                m += cn_value(s, i, e, out + m);
                i = e;
            }
        }
    } else {
        memcpy(out, s, n * sizeof(uint16_t));
        m = n;
    }
    /* _CN_DIGIT_RUN.sub, in place: every run of two or more digit numerals -> its digits */
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < m;) {
        if (!is_cn_numeral(out[i]) || cn_digit(out[i]) < 0) {  /* (the bit first: most characters are no numeral) */
            out[w++] = out[i++];
            continue;
        }
        Py_ssize_t e = i + 1;
        while (e < m && cn_digit(out[e]) >= 0)
            e++;
        if (e - i >= 2) {
            for (; i < e; i++)
                out[w++] = (uint16_t)('0' + cn_digit(out[i]));
        } else {
            out[w++] = out[i++];
        }
    }
    return w;
}

/* ---- spaces and lines (text._drop_spaces, then str.split("\n")) --------------------------------------------- */

/* drop_spaces_T: drop the spaces of s[0:n] that text._drop_spaces drops (a run of spaces -> one space, kept only
   when the sides of its neighbours multiply to 1 or 2; the text is taken as led and ended by a newline), in
   place; returns the new length.  sides: the caller's table, indexed by every character (callers check that
   each is inside it).
   split_lines_T: s[0:n] split at newlines into a list of exactly `lines` str, or None for another number. */
/* The index of the first newline of s[i:n], or n. */
static Py_ssize_t next_newline_uint8_t(const uint8_t *s, Py_ssize_t i, Py_ssize_t n) {
    const uint8_t *nl = i < n ? memchr(s + i, '\n', n - i) : NULL;  /* (vectorised: lines are long in English) */
    return nl == NULL ? n : nl - s;
}

static Py_ssize_t next_newline_uint16_t(const uint16_t *s, Py_ssize_t i, Py_ssize_t n) {
    while (i < n && s[i] != '\n')
        i++;
    return i;
}

#define LINES_FUNCTIONS(T, KIND)                                                                                 \
    static Py_ssize_t drop_spaces_##T(T *s, Py_ssize_t n, const unsigned char *sides) {                          \
        Py_ssize_t w = 0;                                                                                        \
        for (Py_ssize_t i = 0; i < n;) {                                                                         \
            if (s[i] != ' ') {                                                                                   \
                s[w++] = s[i++];                                                                                 \
                continue;                                                                                        \
            }                                                                                                    \
            Py_ssize_t k = i;                                                                                    \
            while (k < n && s[k] == ' ')                                                                         \
                k++;                                                                                             \
            unsigned product = (unsigned)sides[i == 0 ? '\n' : s[i - 1]] * sides[k == n ? '\n' : s[k]];          \
            if (product == 1 || product == 2)                                                                    \
                s[w++] = ' ';                                                                                    \
            i = k;                                                                                               \
        }                                                                                                        \
        return w;                                                                                                \
    }                                                                                                            \
                                                                                                                 \
    static PyObject *split_lines_##T(const T *s, Py_ssize_t n, Py_ssize_t lines) {                               \
        PyObject *out = PyList_New(0);                                                                           \
        if (out == NULL)                                                                                         \
            return NULL;                                                                                         \
        Py_ssize_t start = 0;                                                                                    \
        for (Py_ssize_t i = 0; i <= n; i++) {                                                                    \
            i = next_newline_##T(s, i, n);                                                                       \
            if (PyList_GET_SIZE(out) == lines) { /* more lines than texts */                                     \
                Py_SETREF(out, Py_NewRef(Py_None));                                                              \
                return out;                                                                                      \
            }                                                                                                    \
            PyObject *line = PyUnicode_FromKindAndData(KIND, s + start, i - start);                              \
            int failed = line == NULL || PyList_Append(out, line) < 0;                                           \
            Py_XDECREF(line);                                                                                    \
            if (failed) {                                                                                        \
                Py_DECREF(out);                                                                                  \
                return NULL;                                                                                     \
            }                                                                                                    \
            start = i + 1;                                                                                       \
        }                                                                                                        \
        if (PyList_GET_SIZE(out) != lines) /* fewer */                                                           \
            Py_SETREF(out, Py_NewRef(Py_None));                                                                  \
        return out;                                                                                              \
    }

LINES_FUNCTIONS(uint8_t, PyUnicode_1BYTE_KIND)
LINES_FUNCTIONS(uint16_t, PyUnicode_2BYTE_KIND)

/* ---- the module's functions ---------------------------------------------------------------------------------- */

PyDoc_STRVAR(t2s_needed_doc,
"t2s_needed(text, changed) -> bool\n\n"
"Whether to_simplified must run opencc on text: a character outside the Basic Multilingual Plane, a lone\n"
"surrogate, or a code unit that ``changed`` (text._t2s_units(): 65,536 booleans) marks.");

static PyObject *t2s_needed(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "t2s_needed(text: str, changed: table)");
        return NULL;
    }
    PyObject *text = args[0];
    Py_buffer view;
    if (table_view(args[1], &view, BMP, "changed") < 0)
        return NULL;
    const unsigned char *changed = view.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int needed = 0;
    switch (PyUnicode_KIND(text)) {  /* (one loop per width: the look-up per character is all the work) */
    case PyUnicode_1BYTE_KIND: {
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
        for (Py_ssize_t i = 0; i < n && !needed; i++)
            needed = changed[s[i]];
        break;
    }
    case PyUnicode_2BYTE_KIND: {
        const Py_UCS2 *s = PyUnicode_2BYTE_DATA(text);
        for (Py_ssize_t i = 0; i < n && !needed; i++)
            needed = is_surrogate(s[i]) || changed[s[i]];
        break;
    }
    default:
        needed = n > 0;  /* a 4-byte text holds a character past the BMP */
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(needed);
}

PyDoc_STRVAR(zh_lines_doc,
"zh_lines(text, lines, units, sides) -> list[str] | None\n\n"
"text._zh_fast(cn_numerals_to_digits(text)).split('\\n') (text: a call's utterances, simplified, joined by\n"
"newlines), or None where _zh_fast answers None or the lines are not ``lines``.  units: text._zh_units();\n"
"sides: text._ZH_SPACE_SIDES.");

static PyObject *zh_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "zh_lines(text: str, lines: int, units: table, sides: table)");
        return NULL;
    }
    PyObject *text = args[0];
    Py_ssize_t lines = PyLong_AsSsize_t(args[1]);
    if (lines == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    if (kind == PyUnicode_4BYTE_KIND && n > 0)  /* past the BMP: _bmp_units answers None */
        Py_RETURN_NONE;
    Py_buffer units_view, sides_view;
    if (table_view(args[2], &units_view, 2 * BMP, "units") < 0)
        return NULL;
    if (table_view(args[3], &sides_view, BMP, "sides") < 0) {
        PyBuffer_Release(&units_view);
        return NULL;
    }
    const uint16_t *units = units_view.buf;
    PyObject *result = NULL;
    /* the text as code units, then the numerals read into the room after it (twice its length at most) */
    uint16_t *buf = n < PY_SSIZE_T_MAX / (3 * (Py_ssize_t)sizeof(uint16_t)) ? PyMem_Malloc((3 * n + 1) * sizeof(uint16_t))
                                                                            : NULL;
    if (buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (kind == PyUnicode_2BYTE_KIND) {
        memcpy(buf, PyUnicode_2BYTE_DATA(text), n * sizeof(uint16_t));
    } else {
        const Py_UCS1 *latin1 = PyUnicode_1BYTE_DATA(text);
        for (Py_ssize_t i = 0; i < n; i++)
            buf[i] = latin1[i];
    }
    Py_ssize_t first_numeral = -1;
    int has_unit = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t c = buf[i];
        if (is_surrogate(c)) {  /* a lone surrogate: _bmp_units answers None */
            result = Py_NewRef(Py_None);
            goto done;
        }
        if (is_cn_numeral(c)) {
            if (first_numeral < 0)
                first_numeral = i;
            has_unit |= cn_unit(c) != 0;
        }
    }
    uint16_t *s = buf;
    Py_ssize_t m = n;
    if (first_numeral >= 0) {  /* the text before the first numeral is left as it is */
        s = buf + n;
        memcpy(s, buf, first_numeral * sizeof(uint16_t));
        m = first_numeral + cn_numerals(buf + first_numeral, n - first_numeral, has_unit, s + first_numeral);
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        if (units[s[i]] == 0) {  /* the character needs the step-by-step path */
            result = Py_NewRef(Py_None);
            goto done;
        }
        s[i] = units[s[i]];
    }
    m = drop_spaces_uint16_t(s, m, sides_view.buf);
    result = split_lines_uint16_t(s, m, lines);
done:
    PyMem_Free(buf);
    PyBuffer_Release(&units_view);
    PyBuffer_Release(&sides_view);
    return result;
}

/* The digit words of text._EN_DIGITS, in _EN_DIGIT_RUN's order, and their lengths. */
static const char *const EN_DIGIT_WORDS[] = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven",
                                            "eight", "nine"};
static const Py_ssize_t EN_DIGIT_LENGTHS[] = {4, 2, 3, 3, 5, 4, 4, 3, 5, 5, 4};
#define N_EN_DIGIT_WORDS 11

/* byte -> whether it is an ASCII word character (\w): [0-9A-Za-z_] (set once at module init) */
static unsigned char ascii_word_bytes[256];

static int ascii_word(unsigned char c) { return ascii_word_bytes[c]; }
/* what str.split() splits ASCII text on */
static int ascii_space(unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F); }

/* The digit word that s[a:b] is, or -1. */
static int digit_word(const unsigned char *s, Py_ssize_t a, Py_ssize_t b) {
    if (b - a < 2 || b - a > 5)
        return -1;
    int first, last;  /* the words starting with s[a] (most runs start with another letter: one switch says so) */
    switch (s[a]) {
    case 'z': first = last = 0; break;
    case 'o': first = 1; last = 2; break;
    case 't': first = 3; last = 4; break;
    case 'f': first = 5; last = 6; break;
    case 's': first = 7; last = 8; break;
    case 'e': first = last = 9; break;
    case 'n': first = last = 10; break;
    default: return -1;
    }
    for (int w = first; w <= last; w++)
        if (EN_DIGIT_LENGTHS[w] == b - a && memcmp(s + a, EN_DIGIT_WORDS[w], b - a) == 0)
            return w;
    return -1;
}

/* Whether _en_fast answers None for the translated text s[0:n]: for a digit word that is one of its tokens
   (str.split), _EN_DIGIT_PAIR searches successfully: that word, a word boundary, [ \t-]*, a digit word, a word
   boundary.  Such a match is the end of a run of word characters (the word is made of them and a boundary follows)
   and the whole next run (it starts after the non-word gap and a boundary ends it), so consecutive word runs are
   looked at, not every position; the tokens are looked at only when a pair of runs could match (rare). */
static int has_digit_run(const unsigned char *s, Py_ssize_t n) {
    int ending[N_EN_DIGIT_WORDS] = {0}, any = 0;  /* the words that end a run followed by a digit word */
    Py_ssize_t prev_start = -1, prev_end = -1;
    for (Py_ssize_t i = 0; i < n;) {
        if (!ascii_word(s[i])) {
            i++;
            continue;
        }
        Py_ssize_t a = i;
        while (i < n && ascii_word(s[i]))
            i++;
        if (prev_end >= 0 && digit_word(s, a, i) >= 0) {
            int gap = 1;  /* only [ \t-] between the runs */
            for (Py_ssize_t k = prev_end; k < a && gap; k++)
                gap = s[k] == ' ' || s[k] == '\t' || s[k] == '-';
            for (int w = 0; gap && w < N_EN_DIGIT_WORDS; w++)
                if (prev_end - prev_start >= EN_DIGIT_LENGTHS[w] &&
                    memcmp(s + prev_end - EN_DIGIT_LENGTHS[w], EN_DIGIT_WORDS[w], EN_DIGIT_LENGTHS[w]) == 0)
                    any = ending[w] = 1;
        }
        prev_start = a;
        prev_end = i;
    }
    for (Py_ssize_t i = 0; any && i < n;) {  /* is one of those words a token? */
        while (i < n && ascii_space(s[i]))
            i++;
        Py_ssize_t a = i;
        while (i < n && !ascii_space(s[i]))
            i++;
        int w = digit_word(s, a, i);
        if (w >= 0 && ending[w])
            return 1;
    }
    return 0;
}

PyDoc_STRVAR(en_lines_doc,
"en_lines(text, lines, translate, sides) -> list[str] | None\n\n"
"text._en_fast(text).split('\\n') (text: a call's utterances joined by newlines), or None where the text is not\n"
"ASCII, _en_fast answers None, or the lines are not ``lines``.  translate: text._EN_BYTES; sides:\n"
"text._EN_SPACE_SIDES.");

static PyObject *en_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "en_lines(text: str, lines: int, translate: bytes, sides: table)");
        return NULL;
    }
    PyObject *text = args[0];
    Py_ssize_t lines = PyLong_AsSsize_t(args[1]);
    if (lines == -1 && PyErr_Occurred())
        return NULL;
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    Py_buffer table_buf, sides_view;
    if (table_view(args[2], &table_buf, 256, "translate") < 0)
        return NULL;
    if (table_view(args[3], &sides_view, 256, "sides") < 0) {
        PyBuffer_Release(&table_buf);
        return NULL;
    }
    const unsigned char *table = table_buf.buf;
    PyObject *result = NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const unsigned char *src = PyUnicode_1BYTE_DATA(text);
    uint8_t *b = PyMem_Malloc(n + 1);
    if (b == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++)  /* bytes.translate(_EN_BYTES, b"'`") */
        if (src[i] != '\'' && src[i] != '`')
            b[m++] = table[src[i]];
    if (has_digit_run(b, m)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    m = drop_spaces_uint8_t(b, m, sides_view.buf);
    result = split_lines_uint8_t(b, m, lines);
done:
    PyMem_Free(b);
    PyBuffer_Release(&table_buf);
    PyBuffer_Release(&sides_view);
    return result;
}

PyDoc_STRVAR(sound_lines_doc,
"sound_lines(norms, codes) -> list[str] | None\n\n"
"text.sound_codes of each of norms (a list of str without newlines), or None when a hanzi's code is not in\n"
"``codes`` yet (text._CODE_UNITS, 65,536 uint16: code unit -> its code's unit, 0 for a hanzi not looked up).");

/* The sound codes of one text as a new str; None when a code is not known yet. */
static PyObject *sound_line(PyObject *norm, const uint16_t *codes, Py_UCS4 *buf) {
    int kind = PyUnicode_KIND(norm);
    const void *data = PyUnicode_DATA(norm);
    Py_ssize_t n = PyUnicode_GET_LENGTH(norm);
    if (kind != PyUnicode_4BYTE_KIND) {  /* every code is a code unit: a 2-byte text (narrowed by Python if it can) */
        uint16_t *units = (uint16_t *)buf;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (codes[c] == 0 && c != 0)  /* (NUL's code is itself) */
                Py_RETURN_NONE;
            units[i] = codes[c];
        }
        return PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, units, n);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        /* past the BMP sound_codes keeps the character (no hanzi there is looked up) */
        Py_UCS4 code = c < BMP ? codes[c] : c;
        if (code == 0 && c != 0)
            Py_RETURN_NONE;
        buf[i] = code;
    }
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n);
}

static PyObject *sound_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "sound_lines(norms: list[str], codes: table)");
        return NULL;
    }
    PyObject *norms = args[0];
    Py_buffer view;
    if (table_view(args[1], &view, 2 * BMP, "codes") < 0)
        return NULL;
    const uint16_t *codes = view.buf;
    Py_ssize_t count = PyList_GET_SIZE(norms), longest = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *norm = PyList_GET_ITEM(norms, k);
        if (!PyUnicode_Check(norm)) {
            PyErr_SetString(PyExc_TypeError, "sound_lines: norms must be str");
            PyBuffer_Release(&view);
            return NULL;
        }
        if (PyUnicode_GET_LENGTH(norm) > longest)
            longest = PyUnicode_GET_LENGTH(norm);
    }
    PyObject *out = NULL;
    Py_UCS4 *buf = longest < PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Py_UCS4) ? PyMem_Malloc((longest + 1) * sizeof(Py_UCS4))
                                                                         : NULL;
    if (buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    out = PyList_New(count);
    if (out == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *line = sound_line(PyList_GET_ITEM(norms, k), codes, buf);
        if (line == NULL || line == Py_None) {
            Py_SETREF(out, line);
            goto done;
        }
        PyList_SET_ITEM(out, k, line);
    }
done:
    PyMem_Free(buf);
    PyBuffer_Release(&view);
    return out;
}

/* ---- Prepared objects ---------------------------------------------------------------------------------------- */

/* Prepared's fields in its constructor's order. */
enum { F_INDEX, F_UTT, F_NORM, F_CODES, F_ROLE, F_CANDIDATES, F_CACHE, F_FOUND, F_DEADLINE, N_FIELDS };
static const char *const FIELDS[N_FIELDS] = {"index", "utt", "norm", "codes", "role", "candidates", "cache",
                                             "found", "deadline"};
static PyObject *field_names[N_FIELDS];  /* FIELDS, interned (set once at module init) */

/* The offsets of cls's slot fields: each must be a writable object slot of cls itself (a dataclass with
   slots=True), so a new instance's field can be stored directly (what its __init__ does, less the call). */
static int field_offsets(PyTypeObject *cls, Py_ssize_t *offsets) {
    for (int f = 0; f < N_FIELDS; f++) {
        /* (cls's own namespace: the descriptor must be cls's, checked below) */
        PyObject *descr = cls->tp_dict == NULL ? NULL : PyDict_GetItemWithError(cls->tp_dict, field_names[f]);
        if (descr == NULL && PyErr_Occurred())
            return -1;
        int ok = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type);
        if (ok) {
            PyMemberDescrObject *member = (PyMemberDescrObject *)descr;
            ok = PyDescr_TYPE(member) == cls && member->d_member->type == T_OBJECT_EX &&
                 !(member->d_member->flags & READONLY);
            offsets[f] = member->d_member->offset;
        }
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "build_prepared: %s is not a slot field of %s", FIELDS[f], cls->tp_name);
            return -1;
        }
    }
    return 0;
}

/* A new cls instance with its fields set (references taken: each value is borrowed). */
static PyObject *new_prepared(PyTypeObject *cls, const Py_ssize_t *offsets, PyObject *const *values) {
    PyObject *p = cls->tp_alloc(cls, 0);
    if (p == NULL)
        return NULL;
    for (int f = 0; f < N_FIELDS; f++)
        *(PyObject **)((char *)p + offsets[f]) = Py_NewRef(values[f]);
    return p;
}

/* codes.encode() (UTF-8).  A text of 2-byte characters (the Mandarin sound codes: private-use characters) is
   encoded here in two passes, a third of what the codec's general writer costs for such short texts; a lone
   surrogate goes to the codec, which raises what str.encode raises. */
static PyObject *utf8(PyObject *text) {
    if (PyUnicode_KIND(text) != PyUnicode_2BYTE_KIND)
        return PyUnicode_AsUTF8String(text);
    const Py_UCS2 *s = PyUnicode_2BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (is_surrogate(s[i]))
            return PyUnicode_AsUTF8String(text);
        size += s[i] < 0x80 ? 1 : s[i] < 0x800 ? 2 : 3;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        return NULL;
    unsigned char *b = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS2 c = s[i];
        if (c < 0x80) {
            *b++ = (unsigned char)c;
        } else if (c < 0x800) {
            *b++ = (unsigned char)(0xC0 | (c >> 6));
            *b++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            *b++ = (unsigned char)(0xE0 | (c >> 12));
            *b++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *b++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    return out;
}

/* The screen's finding for one utterance: (screen, match(codes.encode()), texts_found), or match(codes) where
   the match takes the str itself (match_str: the C screen, qa_engine/native/_screen.c). */
static PyObject *screen_found(PyObject *screen, PyObject *match, int match_str, PyObject *codes,
                              PyObject *texts_found) {
    PyObject *encoded = match_str ? Py_NewRef(codes) : utf8(codes);
    if (encoded == NULL)
        return NULL;
    PyObject *found = PyObject_CallOneArg(match, encoded);
    Py_DECREF(encoded);
    if (found == NULL)
        return NULL;
    PyObject *t = PyTuple_Pack(3, screen, found, texts_found);
    Py_DECREF(found);
    return t;
}

PyDoc_STRVAR(build_prepared_doc,
"build_prepared(cls, utts, norms, codes, deadline, screen, match, texts_found, default_found, match_str=False)\n"
"    -> tuple[list, list, list]\n\n"
"Prepared(i, u, norm, codes, u.role, None, {}, found, deadline) for each utterance (cls: matching.Prepared), and\n"
"those of them whose role is 'agent', and 'customer'.  found: (screen, match(codes.encode()), texts_found) when\n"
"match is not None (what MatcherScreen.scan_all sets), else default_found; match_str: match takes codes as str.");

static PyObject *build_prepared(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 9 || nargs > 10 || !PyType_Check(args[0]) || !PyList_Check(args[2]) || !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "build_prepared(cls: type, utts: sequence, norms: list, codes: list, "
                                         "deadline, screen, match, texts_found, default_found, match_str=False)");
        return NULL;
    }
    int match_str = nargs == 10 ? PyObject_IsTrue(args[9]) : 0;
    if (match_str < 0)
        return NULL;
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *norms = args[2], *codes = args[3], *deadline = args[4], *screen = args[5], *match = args[6];
    PyObject *texts_found = args[7], *default_found = args[8];
    Py_ssize_t offsets[N_FIELDS];
    if (field_offsets(cls, offsets) < 0)
        return NULL;
    /* a tuple of its own: the screen's match releases the GIL, and another thread may change a list meanwhile */
    PyObject *utts = PySequence_Tuple(args[1]);
    if (utts == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(utts);
    PyObject *all = NULL, *agent = NULL, *customer = NULL, *result = NULL;
    if (PyList_GET_SIZE(norms) != n || PyList_GET_SIZE(codes) != n) {
        PyErr_SetString(PyExc_ValueError, "build_prepared: utts, norms and codes differ in length");
        goto done;
    }
    all = PyList_New(n);
    agent = PyList_New(0);
    customer = PyList_New(0);
    if (all == NULL || agent == NULL || customer == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i >= PyList_GET_SIZE(norms) || i >= PyList_GET_SIZE(codes)) {  /* (changed by another thread) */
            PyErr_SetString(PyExc_RuntimeError, "build_prepared: norms or codes changed size");
            goto done;
        }
        /* held, not borrowed: the lists may change while the GIL is released */
        PyObject *norm = Py_NewRef(PyList_GET_ITEM(norms, i)), *code = Py_NewRef(PyList_GET_ITEM(codes, i));
        PyObject *utt = PyTuple_GET_ITEM(utts, i);
        PyObject *index = PyLong_FromSsize_t(i);
        PyObject *role = PyObject_GetAttr(utt, str_role);
        PyObject *cache = PyDict_New();
        PyObject *found = NULL, *p = NULL;
        if (index != NULL && role != NULL && cache != NULL)
            found = match == Py_None ? Py_NewRef(default_found) : screen_found(screen, match, match_str, code, texts_found);
        if (found != NULL) {
            PyObject *values[N_FIELDS] = {index, utt, norm, code, role, Py_None, cache, found, deadline};
            p = new_prepared(cls, offsets, values);
        }
        Py_DECREF(norm);
        Py_DECREF(code);
        Py_XDECREF(index);
        Py_XDECREF(cache);
        Py_XDECREF(found);
        if (p == NULL) {
            Py_XDECREF(role);
            goto done;
        }
        PyList_SET_ITEM(all, i, p);
        int is_agent = PyObject_RichCompareBool(role, str_agent, Py_EQ);
        int is_customer = is_agent == 0 ? PyObject_RichCompareBool(role, str_customer, Py_EQ) : 0;
        Py_DECREF(role);
        if (is_agent < 0 || is_customer < 0 || (is_agent && PyList_Append(agent, p) < 0) ||
            (is_customer && PyList_Append(customer, p) < 0))
            goto done;
    }
    result = PyTuple_Pack(3, all, agent, customer);
done:
    Py_DECREF(utts);
    Py_XDECREF(all);
    Py_XDECREF(agent);
    Py_XDECREF(customer);
    return result;
}

static PyMethodDef methods[] = {
    {"t2s_needed", (PyCFunction)(void (*)(void))t2s_needed, METH_FASTCALL, t2s_needed_doc},
    {"zh_lines", (PyCFunction)(void (*)(void))zh_lines, METH_FASTCALL, zh_lines_doc},
    {"en_lines", (PyCFunction)(void (*)(void))en_lines, METH_FASTCALL, en_lines_doc},
    {"sound_lines", (PyCFunction)(void (*)(void))sound_lines, METH_FASTCALL, sound_lines_doc},
    {"build_prepared", (PyCFunction)(void (*)(void))build_prepared, METH_FASTCALL, build_prepared_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_prepare",
    "A call's preparation for matching in C: normalisation, sound codes, Prepared objects and their screening.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__prepare(void) {
    static const Py_UCS4 numerals[] = {0x96F6, 0x3007, 0x25CB, 0x4E00, 0x5E7A, 0x4E8C, 0x4E09, 0x56DB, 0x4E94,
                                       0x516D, 0x4E03, 0x516B, 0x4E5D, CN_TWO, CN_TEN, CN_HUNDRED, CN_THOUSAND};
    for (size_t k = 0; k < sizeof numerals / sizeof numerals[0]; k++)
        cn_numeral_bits[numerals[k] >> 3] |= (unsigned char)(1 << (numerals[k] & 7));
    for (int c = 0; c < 256; c++)
        ascii_word_bytes[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    str_role = PyUnicode_InternFromString("role");
    str_agent = PyUnicode_InternFromString("agent");
    str_customer = PyUnicode_InternFromString("customer");
    if (str_role == NULL || str_agent == NULL || str_customer == NULL)
        return NULL;
    for (int f = 0; f < N_FIELDS; f++)
        if ((field_names[f] = PyUnicode_InternFromString(FIELDS[f])) == NULL)
            return NULL;
    return PyModule_Create(&module);
}
