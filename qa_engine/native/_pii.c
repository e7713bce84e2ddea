/* The PII masker's hot passes over a call's strings (qa_engine.pii), each the twin of a Python reference there.

Why: masking a call's report looks at every utterance text and every string of the findings; the Python did it with
the strings joined and encoded, several RE2 and re passes and a Python call chain per identifier found.  Here:

scan(strings)      (pii._python_scan) for the strings (None counts as ""):
                     words   those that may hold an English digit word or an e-mail address (pii._HINT),
                     runs    {index: [(start, end), ...]}: the others' runs of four digit units or more (pii._RUN4),
                     starts  those that may start with a digit unit past separators and fillers (pii._UNIT_START),
                     digits  those with a digit unit (pii._DIGIT_LINE),
                   or None where the reference cannot join them (none, or a NUL inside one) or encode them (a lone
                   surrogate); one loop per string over its characters, no copy.
long_runs(...)     (pii._python_keep_runs) the identifiers among runs of nine decimal digits or more, and of seven or
                   eight with nothing around them that could make them an amount, a count or a date; else None.
mask(...)          (pii._python_apply) the characters of some ranges made "*".
whole_spans(...)   (pii._python_whole_spans) the PiiSpans of a transcript without word timings.
quoted(...)        (pii._python_quoted) an explanation with the utterance texts it quotes masked as the transcript has
                   them: the searches, comparisons and splicing of strings, per masked utterance, in one call.

The character sets below are those of qa_engine/pii.py; tests/rules/test_pii_native.py compares every function with
its reference on generated and real strings.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Text;

static inline Py_UCS4 at(const Text *t, Py_ssize_t i) { return PyUnicode_READ(t->kind, t->data, i); }

static inline int ascii_letter(Py_UCS4 c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* pii._CN_DIGITS, Chinese numerals read digit by digit, by their code point modulo 119 (no two share a slot): one
   look-up for each of the many Chinese characters of a call, where a switch took a dozen comparisons */
#define CN_SLOTS 119
static const Py_UCS4 CN_DIGIT_AT[CN_SLOTS] = {
    0, 0, 0, 0, 0, 0x4e94, 0, 0x4f0d, 0, 0, 0, 0, 0x4e24, 0, 0, 0, 0x5169, 0, 0x516b, 0, 0x516d, 0x53c1, 0, 0x53c3,
    0x53c4, 0, 0, 0, 0, 0x5e7a, 0, 0, 0, 0x9646, 0, 0, 0x25cb, 0, 0x3007, 0, 0, 0x67d2, 0, 0, 0, 0, 0, 0, 0x58f9, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0x8086, 0, 0, 0, 0, 0, 0x52fe, 0, 0, 0, 0x62d0, 0x4e5d, 0, 0, 0, 0x634c, 0, 0, 0, 0, 0x7396, 0,
    0, 0x8cb3, 0, 0x9678, 0, 0, 0, 0x8d30, 0x6d1e, 0, 0x96f6, 0, 0, 0, 0, 0x4e00, 0, 0, 0x4e03, 0, 0, 0x56db, 0, 0,
    0x4e09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x4e8c, 0, 0};

static inline int cn_digit(Py_UCS4 c) { return c >= 0x25cb && CN_DIGIT_AT[c % CN_SLOTS] == c; }

/* a digit unit of the digits form: what re's \d (a Unicode decimal digit) or a Chinese numeral matches */
static inline int unit(Py_UCS4 c) {
    if (c < 0x80)
        return c >= '0' && c <= '9';
    if (c >= 0x3400 && c <= 0x9fff)  /* CJK ideographs: no decimal digit among them */
        return cn_digit(c);
    return cn_digit(c) || Py_UNICODE_ISDECIMAL(c);
}

/* pii._SEP_CHARS: \s and the dashes, dots, commas, slashes, brackets and plus signs between digits */
static int sep_char(Py_UCS4 c) {
    switch (c) {
    case 0x28: case 0x29: case 0x2b: case 0x2c: case 0x2d: case 0x2e: case 0x2f: case 0x5b: case 0x5c: case 0x5d:
    case 0x5f: case 0xb7: case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015:
    case 0x3001: case 0x3002: case 0x3010: case 0x3011: case 0x30fb: case 0xff08: case 0xff09: case 0xff0b:
    case 0xff0c: case 0xff0d: case 0xff0e: case 0xff0f:
        return 1;
    default:
        return Py_UNICODE_ISSPACE(c);
    }
}

/* pii._EDGE_CHARS: what may stand before a number at an utterance's start */
static int edge_char(Py_UCS4 c) {
    switch (c) {
    case 0x9: case 0xa: case 0x20: case 0x21: case 0x22: case 0x27: case 0x28: case 0x29: case 0x2b: case 0x2c:
    case 0x2d: case 0x2e: case 0x2f: case 0x3a: case 0x3b: case 0x3f: case 0x5b: case 0x5c: case 0x5d: case 0x5f:
    case 0x7e: case 0xb7: case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015:
    case 0x201c: case 0x201d: case 0x2026: case 0x3001: case 0x3002: case 0x3010: case 0x3011: case 0x30fb:
    case 0x5443: case 0x54e6: case 0x5514: case 0x554a: case 0x55ef: case 0x5662: case 0x989d: case 0xff01:
    case 0xff08: case 0xff09: case 0xff0b: case 0xff0c: case 0xff0d: case 0xff0e: case 0xff0f: case 0xff1a:
    case 0xff1b: case 0xff1f:
        return 1;
    default:
        return 0;
    }
}

/* pii._FOLDS_TO_ASCII: characters beyond ASCII that case-fold to ASCII letters ("ﬁve" reads "five") */
static inline int folds_to_ascii(Py_UCS4 c) {
    if (c < 0xdf || (c > 0x1f0 && c < 0x1e96) || (c > 0x1e9e && c != 0x212a && c < 0xfb00) || c > 0xfb06)
        return 0;
    switch (c) {
    case 0xdf: case 0x130: case 0x149: case 0x17f: case 0x1f0: case 0x1e96: case 0x1e97: case 0x1e98: case 0x1e99:
    case 0x1e9a: case 0x1e9e: case 0x212a: case 0xfb00: case 0xfb01: case 0xfb02: case 0xfb03: case 0xfb04:
    case 0xfb05: case 0xfb06:
        return 1;
    default:
        return 0;
    }
}

/* the one-character Chinese fillers (嗯 呃 额 啊 哦 噢 唔 诶 欸 杠); 横杠 is 横 then 杠 */
static int zh_filler(Py_UCS4 c) {
    switch (c) {
    case 0x55ef: case 0x5443: case 0x989d: case 0x554a: case 0x54e6: case 0x5662: case 0x5514: case 0x8bf6:
    case 0x6b38: case 0x6760:
        return 1;
    default:
        return 0;
    }
}
#define HENG 0x6a2a  /* 横 */
#define GANG 0x6760  /* 杠 */

/* a letter for re's (?i:[A-Za-z]): the ASCII ones and those re.IGNORECASE takes for them (İ ı ſ and the Kelvin
   sign) */
static inline int re_letter(Py_UCS4 c) {
    return ascii_letter(c) || c == 0x130 || c == 0x131 || c == 0x17f || c == 0x212a;
}

/* c matches the lower-case ASCII letter l case-insensitively: in re (ignorecase_re) or in RE2 (simple case folding:
   only ſ and the Kelvin sign join ASCII letters there) */
static inline int same_letter(Py_UCS4 c, char l, int ignorecase_re) {
    if (ascii_letter(c))
        return (char)(c | 0x20) == l;
    if ((l == 's' && c == 0x17f) || (l == 'k' && c == 0x212a))
        return 1;
    return ignorecase_re && l == 'i' && (c == 0x130 || c == 0x131);
}

/* the length of word w when it is at t[p:] (case-insensitively), else 0 */
static inline Py_ssize_t word_at(const Text *t, Py_ssize_t p, const char *w, int ignorecase_re) {
    Py_ssize_t k = 0;
    for (; w[k]; k++)
        if (p + k >= t->n || !same_letter(at(t, p + k), w[k], ignorecase_re))
            return 0;
    return k;
}

static const char *const EN_FILLERS[] = {"uh", "um", "umm", "er", "erm", "ah", "hmm", "dash", "hyphen", NULL};
/* pii._WORD_HINTS and "o" (what _word_units may count; less "o", pii._EN_WORD_SET: what _UNIT_START takes at an
   utterance's start), by first letter: most words are ruled out by that letter */
static const char *const WORDS_D[] = {"double", NULL};
static const char *const WORDS_E[] = {"eight", "eleven", "eighteen", "eighty", NULL};
static const char *const WORDS_F[] = {"four", "five", "fourteen", "fifteen", "forty", "fourty", "fifty", NULL};
static const char *const WORDS_H[] = {"hundred", NULL};
static const char *const WORDS_N[] = {"nine", "nineteen", "ninety", NULL};
static const char *const WORDS_O[] = {"oh", "one", "o", NULL};
static const char *const WORDS_S[] = {"six", "seven", "sixteen", "seventeen", "sixty", "seventy", NULL};
static const char *const WORDS_T[] = {"two", "three", "ten", "twelve", "thirteen", "twenty", "thirty", "triple", NULL};
static const char *const WORDS_Z[] = {"zero", NULL};

static const char *const *words_from(char first) {
    switch (first) {
    case 'd': return WORDS_D;
    case 'e': return WORDS_E;
    case 'f': return WORDS_F;
    case 'h': return WORDS_H;
    case 'n': return WORDS_N;
    case 'o': return WORDS_O;
    case 's': return WORDS_S;
    case 't': return WORDS_T;
    case 'z': return WORDS_Z;
    default: return NULL;
    }
}
#define LONGEST_HINT 9

/* where a filler of a digit run (pii._DIGITS.filler, as re matches it) that starts at p ends, or -1 */
static Py_ssize_t run_filler_end(const Text *t, Py_ssize_t p) {
    Py_UCS4 c = at(t, p);
    if (zh_filler(c))
        return p + 1;
    if (c == HENG)
        return p + 1 < t->n && at(t, p + 1) == GANG ? p + 2 : -1;
    if (p > 0 && re_letter(at(t, p - 1)))
        return -1;
    for (const char *const *w = EN_FILLERS; *w; w++) {
        Py_ssize_t k = word_at(t, p, *w, 1);
        if (k && (p + k == t->n || !re_letter(at(t, p + k))))
            return p + k;
    }
    return -1;
}

/* where the separators between two digits of a run (possessive, as pii._run4 has them) that start at p end */
static Py_ssize_t run_sep_end(const Text *t, Py_ssize_t p) {
    Py_ssize_t k;
    for (k = 0; k < 4 && p < t->n && sep_char(at(t, p)); k++)
        p++;
    for (int fillers = 0; fillers < 2 && p < t->n; fillers++) {
        Py_ssize_t e = run_filler_end(t, p);
        if (e < 0)
            break;
        p = e;
        for (k = 0; k < 3 && p < t->n && sep_char(at(t, p)); k++)
            p++;
    }
    return p;
}

/* append the runs of four digit units or more in t (pii._RUN4's matches) to the list runs */
static int find_runs(const Text *t, PyObject *runs) {
    Py_ssize_t i = 0;
    while (i < t->n) {
        if (!unit(at(t, i))) {
            i++;
            continue;
        }
        /* every unit reached from this one is where a run would start again: a run is found whole, or none of it */
        Py_ssize_t start = i, count = 1, p = i + 1;
        for (;;) {
            if (p < t->n && unit(at(t, p))) {
                p++;
                count++;
                continue;
            }
            Py_ssize_t q = run_sep_end(t, p);
            if (q > p && q < t->n && unit(at(t, q))) {
                p = q + 1;
                count++;
                continue;
            }
            break;
        }
        if (count >= 4) {
            PyObject *span = Py_BuildValue("(nn)", start, p);
            if (span == NULL)
                return -1;
            int failed = PyList_Append(runs, span);
            Py_DECREF(span);
            if (failed)
                return -1;
        }
        i = p;
    }
    return 0;
}

/* whether t starts with a digit unit past separators, punctuation and fillers (pii._UNIT_START, as RE2 matches it:
   any path through the fillers counts, so the positions reachable are followed; no step is longer than 6) */
static int may_start(const Text *t) {
    unsigned char reach[8] = {1, 0, 0, 0, 0, 0, 0, 0};  /* reach[p % 8]: position p is reachable */
    Py_ssize_t last = 0;  /* the furthest position reachable so far */
    for (Py_ssize_t p = 0; p <= last && p <= t->n; p++) {
        if (!reach[p % 8])
            continue;
        reach[p % 8] = 0;
        if (p == t->n)
            break;
        Py_UCS4 c = at(t, p);
        if (cn_digit(c) || c >= 0x10000 || Py_UNICODE_ISDIGIT(c))
            return 1;
        if (c == 'o' || c == 'O') {
            if (p + 1 == t->n || !ascii_letter(at(t, p + 1)))
                return 1;
        }
        /* (RE2 folds ſ to s, the Kelvin sign to k) */
        char first = ascii_letter(c) ? (char)(c | 0x20) : c == 0x17f ? 's' : c == 0x212a ? 'k' : 0;
        const char *const *w = first ? words_from(first) : NULL;
        for (; w && *w; w++)
            if ((*w)[1] && word_at(t, p, *w, 0))  /* not "o": that one only before a non-letter */
                return 1;
        Py_ssize_t steps[12];  /* at most one per filler and one for a character */
        int m = 0;
        if (edge_char(c) || zh_filler(c))
            steps[m++] = 1;
        if (c == HENG && p + 1 < t->n && at(t, p + 1) == GANG)
            steps[m++] = 2;
        for (const char *const *w = EN_FILLERS; first && strchr("uehad", first) && *w; w++) {
            Py_ssize_t k = word_at(t, p, *w, 0);
            if (k)
                steps[m++] = k;
        }
        for (int s = 0; s < m; s++) {
            reach[(p + steps[s]) % 8] = 1;
            if (p + steps[s] > last)
                last = p + steps[s];
        }
    }
    return 0;
}

/* One pass over a string for what it holds (the same as the reference's searches of the joined strings). */
typedef struct {
    int unjoinable;      /* NUL (the reference's separator) or a lone surrogate (no UTF-8 for it) */
    int hint;            /* what pii._flag's RE2 pattern _HINT finds: an English digit word between ASCII
                            non-letters, a character that case-folds to ASCII letters, "@", 艾特, or " at " with a
                            dot (" dot ", 点, "." before what may be a top-level domain) after or before it */
    Py_ssize_t units;    /* digit units, counted up to 4 (runs need four) */
} Survey;

/* t[p:r] (ASCII letters) is one of the digit words, in any case */
static int hint_word(const Text *t, Py_ssize_t p, Py_ssize_t r) {
    Py_ssize_t len = r - p;
    const char *const *w = words_from((char)(at(t, p) | 0x20));
    if (len > LONGEST_HINT || w == NULL)
        return 0;
    for (; *w; w++) {
        Py_ssize_t k = 1;
        while (k < len && (char)(at(t, p + k) | 0x20) == (*w)[k])
            k++;
        if (k == len && (*w)[k] == '\0')
            return 1;
    }
    return 0;
}

/* survey's loop for one character width (kind: a constant where it is inlined, so that PyUnicode_READ's switch
   on the kind folds away: the loop runs over every character of every string of a call) */
static inline __attribute__((always_inline)) Survey survey_of(const Text *t, const int kind) {
    Survey v = {0, 0, 0};
    Py_ssize_t first_at_end = PY_SSIZE_T_MAX, last_at_start = -1;
    Py_ssize_t first_dot_end = PY_SSIZE_T_MAX, last_dot_start = -1;
    Py_ssize_t n = t->n;
    for (Py_ssize_t p = 0; p < n; p++) {
        Py_UCS4 c = PyUnicode_READ(kind, t->data, p);
        Py_ssize_t dot = 0;  /* the length of a dot starting here */
        if (c < 0x80) {
            if (c >= '0' && c <= '9') {
                v.units += v.units < 4;
            } else if (ascii_letter(c)) {
                if (!v.hint && (p == 0 || !ascii_letter(PyUnicode_READ(kind, t->data, p - 1)))) {  /* a word: one of them, whole */
                    Py_ssize_t r = p + 1;
                    while (r < n && ascii_letter(PyUnicode_READ(kind, t->data, r)))
                        r++;
                    v.hint = hint_word(t, p, r);
                }
            } else if (c == ' ') {
                if (p + 3 < n && PyUnicode_READ(kind, t->data, p + 3) == ' ') {
                    Py_UCS4 a = PyUnicode_READ(kind, t->data, p + 1), b = PyUnicode_READ(kind, t->data, p + 2);
                    if ((a == 'a' && b == 't') || (a == 'A' && (b == 'T' || b == 't'))) {
                        if (p + 4 < first_at_end)
                            first_at_end = p + 4;
                        last_at_start = p;
                    }
                }
                if (p + 4 < n && PyUnicode_READ(kind, t->data, p + 4) == ' ') {
                    Py_UCS4 a = PyUnicode_READ(kind, t->data, p + 1), b = PyUnicode_READ(kind, t->data, p + 2), d = PyUnicode_READ(kind, t->data, p + 3);
                    if ((a == 'd' && b == 'o' && d == 't')
                            || (a == 'D' && ((b == 'O' && d == 'T') || (b == 'o' && d == 't'))))
                        dot = 5;
                }
            } else if (c == '.') {
                if (p + 1 < n) {
                    Py_UCS4 d = PyUnicode_READ(kind, t->data, p + 1);
                    if ((d < 0x80 && d && strchr("abcdeghijmnotuABCDEGHIJMNOTU", (int)d)) || d == 0x130 || d == 0x131)
                        dot = 2;
                }
            } else if (c == '@') {
                v.hint = 1;
            } else if (c == 0) {
                v.unjoinable = 1;
                return v;
            }
        } else if (c >= 0xd800 && c <= 0xdfff) {
            v.unjoinable = 1;
            return v;
        } else if (c == 0x70b9) {  /* 点 */
            dot = 1;
        } else if (folds_to_ascii(c) || (c == 0x827e && p + 1 < n && PyUnicode_READ(kind, t->data, p + 1) == 0x7279)) {  /* 艾特 */
            v.hint = 1;
        } else if (unit(c)) {
            v.units += v.units < 4;
        }
        if (dot) {
            if (p + dot < first_dot_end)
                first_dot_end = p + dot;
            last_dot_start = p;
        }
    }
    v.hint = v.hint || first_at_end <= last_dot_start || first_dot_end <= last_at_start;
    return v;
}

static Survey survey(const Text *t) {
    switch (t->kind) {
    case PyUnicode_1BYTE_KIND:
        return survey_of(t, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return survey_of(t, PyUnicode_2BYTE_KIND);
    default:
        return survey_of(t, PyUnicode_4BYTE_KIND);
    }
}

static int append_index(PyObject *list, Py_ssize_t i) {
    PyObject *k = PyLong_FromSsize_t(i);
    if (k == NULL)
        return -1;
    int failed = PyList_Append(list, k);
    Py_DECREF(k);
    return failed;
}

/* one string's part of scan(); 1: the reference could not join the strings */
static int scan_one(PyObject *s, Py_ssize_t i, PyObject *words, PyObject *runs, PyObject *starts, PyObject *digits) {
    Text t = {PyUnicode_KIND(s), PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s)};
    Survey v = survey(&t);
    if (v.unjoinable)
        return 1;
    Py_ssize_t units = v.units;
    if (units && append_index(digits, i))
        return -1;
    if (may_start(&t) && append_index(starts, i))
        return -1;
    if (v.hint) {
        PyObject *k = PyLong_FromSsize_t(i);
        if (k == NULL)
            return -1;
        int failed = PySet_Add(words, k);
        Py_DECREF(k);
        return failed;
    }
    if (units < 4)
        return 0;
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return -1;
    int failed = find_runs(&t, found);
    if (!failed && PyList_GET_SIZE(found)) {
        PyObject *k = PyLong_FromSsize_t(i);
        failed = k == NULL || PyDict_SetItem(runs, k, found);
        Py_XDECREF(k);
    }
    Py_DECREF(found);
    return failed ? -1 : 0;
}

static PyObject *scan(PyObject *module, PyObject *arg) {
    (void)module;
    PyObject *seq = PySequence_Tuple(arg);  /* a copy: nothing called here can change it under the loop */
    if (seq == NULL)
        return NULL;
    PyObject *words = PySet_New(NULL), *runs = PyDict_New(), *starts = PyList_New(0), *digits = PyList_New(0);
    PyObject *result = NULL;
    if (words == NULL || runs == NULL || starts == NULL || digits == NULL)
        goto done;
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    if (n == 0) {  /* the reference's count of separators cannot tell no string from one */
        result = Py_NewRef(Py_None);
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyTuple_GET_ITEM(seq, i);
        if (!PyUnicode_Check(s)) {  /* the reference joins None (any false value) as "" and fails on the rest */
            int false_value = PyObject_Not(s);
            if (false_value < 0)
                goto done;
            if (!false_value) {
                PyErr_Format(PyExc_TypeError, "scan() item %zd: expected str or None, got %.100s", i,
                             Py_TYPE(s)->tp_name);
                goto done;
            }
            continue;
        }
        int status = scan_one(s, i, words, runs, starts, digits);
        if (status < 0)
            goto done;
        if (status > 0) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    result = PyTuple_Pack(4, words, runs, starts, digits);
done:
    Py_DECREF(seq);
    Py_XDECREF(words);
    Py_XDECREF(runs);
    Py_XDECREF(starts);
    Py_XDECREF(digits);
    return result;
}

/* --- long_runs: the identifiers among runs that are nine decimal digits or more (pii._keep_runs' first case) --- */

/* kinds by digit count, interned once at module init and never changed (threads share them read-only) */
static PyObject *ID_NUMBER, *BANK_CARD, *PHONE, *NUMBER;

static PyObject *kind_of(Py_ssize_t digits, int has_x) {  /* pii._kind (borrowed) */
    if (has_x || digits == 15 || digits == 18)
        return ID_NUMBER;
    if (digits >= 16 && digits <= 19)
        return BANK_CARD;
    if (digits >= 7 && digits <= 13)
        return PHONE;
    return NUMBER;
}

/* pii._CURRENCY: $ ¥ ￥ € £ */
static inline int is_currency(Py_UCS4 c) { return c == '$' || c == 0xa5 || c == 0xffe5 || c == 0x20ac || c == 0xa3; }

/* where pii._X_AFTER (the X that ends an ID: [\s\-]?(?:[xX×ｘＸ](?![A-Za-z])|叉|艾克斯)) matches at p, or -1;
   *mark: where the masked X starts (after a leading space or dash, as the reference strips them) */
static Py_ssize_t x_after(const Text *t, Py_ssize_t p, Py_ssize_t *mark) {
    for (int skip = 1; skip >= 0; skip--) {  /* the optional separator taken first, as re does */
        Py_ssize_t q = p;
        if (skip) {
            if (q >= t->n)
                continue;
            Py_UCS4 c = at(t, q);
            if (!(c == '-' || Py_UNICODE_ISSPACE(c)))
                continue;
            q++;
            *mark = (c == ' ' || c == '-') ? q : p;
        } else {
            *mark = p;
        }
        if (q >= t->n)
            continue;
        Py_UCS4 c = at(t, q);
        if (c == 'x' || c == 'X' || c == 0xd7 || c == 0xff58 || c == 0xff38) {
            if (q + 1 == t->n || !ascii_letter(at(t, q + 1)))
                return q + 1;
        } else if (c == 0x53c9) {  /* 叉 */
            return q + 1;
        } else if (c == 0x827e && q + 2 < t->n && at(t, q + 1) == 0x514b && at(t, q + 2) == 0x65af) {  /* 艾克斯 */
            return q + 3;
        }
    }
    return -1;
}

/* whether a run of seven or eight decimal digits is an identifier as it stands, surely: _add keeps seven digits or
   more without a cue, and no span pii._protected sets aside can touch it.  Those spans (amounts, counts, dates,
   times, thousands) that cover seven digits in a row end right before a unit (a letter or a per-cent sign, maybe
   after one space), start right after a currency sign (maybe and a space), or run on from digits before a "." (the
   decimals of "1,234.5678901" or "$1.2345678"); a run whose neighbours are digits is a piece of a longer one.  Any
   of those: 0, and the reference decides. */
static int bare_short_run(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    if (start > 0) {
        Py_UCS4 c = at(t, start - 1);
        if (Py_UNICODE_ISDECIMAL(c) || c == '.' || is_currency(c))
            return 0;
        if (c == ' ' && start > 1 && is_currency(at(t, start - 2)))
            return 0;
    }
    for (Py_ssize_t p = end; p < t->n && p <= end + 1; p++) {  /* the unit pii._PROTECT_AT looks for: \s?(?:unit) */
        Py_UCS4 c = at(t, p);
        if ((p == end && Py_UNICODE_ISDECIMAL(c)) || Py_UNICODE_ISALPHA(c) || c == '%' || c == 0xff05)
            return 0;
        if (!Py_UNICODE_ISSPACE(c))
            break;
    }
    return 1;
}

/* one PiiMatch (the named tuple type given) of a run; ranges is a new reference, taken */
static PyObject *new_match(PyObject *match_type, Py_ssize_t start, Py_ssize_t end, PyObject *kind, Py_ssize_t digits,
                           PyObject *ranges) {
    if (ranges == NULL)
        return NULL;
    PyObject *items = Py_BuildValue("(nnOnN)", start, end, kind, digits, ranges);
    if (items == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (args == NULL)
        return NULL;
    PyObject *m = PyTuple_Type.tp_new((PyTypeObject *)match_type, args, NULL);  /* tuple.__new__(PiiMatch, items) */
    Py_DECREF(args);
    return m;
}

static PyObject *long_runs(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyType_Check(args[2])
            || !PyType_IsSubtype((PyTypeObject *)args[2], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "long_runs(text, runs, match_type): a str, (start, end) pairs, a named tuple");
        return NULL;
    }
    PyObject *text = args[0], *match_type = args[2];
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *runs = PySequence_Tuple(args[1]);
    if (runs == NULL)
        return NULL;
    PyObject *found = PyList_New(0);
    if (found == NULL)
        goto fail;
    for (Py_ssize_t r = 0; r < PyTuple_GET_SIZE(runs); r++) {
        Py_ssize_t start, end;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(runs, r), "nn", &start, &end))
            goto fail;
        if (start < 0 || end > t.n || end - start < 7)
            goto python;
        for (Py_ssize_t p = start; p < end; p++)
            if (!Py_UNICODE_ISDECIMAL(at(&t, p)))
                goto python;
        if (end - start < 9 && !bare_short_run(&t, start, end))
            goto python;
        Py_ssize_t digits = end - start, mark = -1, x_end = digits >= 14 ? x_after(&t, end, &mark) : -1;
        PyObject *m = x_end < 0
            ? new_match(match_type, start, end, kind_of(digits, 0), digits, Py_BuildValue("((nn))", start, end))
            : new_match(match_type, start, x_end, kind_of(digits, 1), digits,
                        Py_BuildValue("((nn)(nn))", start, end, mark, x_end));
        if (m == NULL)
            goto fail;
        int failed = PyList_Append(found, m);
        Py_DECREF(m);
        if (failed)
            goto fail;
    }
    Py_DECREF(runs);
    return found;
python:  /* a shorter run, or one with more than decimal digits: the reference looks at the whole string */
    Py_DECREF(runs);
    Py_DECREF(found);
    Py_RETURN_NONE;
fail:
    Py_DECREF(runs);
    Py_XDECREF(found);
    return NULL;
}

/* --- mask: pii._apply, every character of some ranges of a string made "*" --- */

typedef struct {
    Py_ssize_t a, b;
} Range;

static int by_start_then_end(const void *x, const void *y) {  /* sorted(ranges): by start, then end */
    const Range *r = x, *q = y;
    if (r->a != q->a)
        return r->a < q->a ? -1 : 1;
    return (r->b > q->b) - (r->b < q->b);
}

/* the character at i of a range kept as it is (a space; in an address also "@" and dots), when the range is longer
   than one character */
static inline int kept(Py_UCS4 c, int email) { return Py_UNICODE_ISSPACE(c) || (email && (c == '@' || c == '.')); }

static PyObject *mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "mask(text, ranges, email): a str, (start, end) pairs, a bool");
        return NULL;
    }
    PyObject *text = args[0];
    int email = PyObject_IsTrue(args[2]);
    if (email < 0)
        return NULL;
    PyObject *seq = PySequence_Tuple(args[1]);
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(seq), n = PyUnicode_GET_LENGTH(text);
    Range *ranges = PyMem_Malloc(sizeof(Range) * (size_t)(count ? count : 1));
    PyObject *result = NULL;
    if (ranges == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < count; k++)
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(seq, k), "nn", &ranges[k].a, &ranges[k].b))
            goto done;
    qsort(ranges, (size_t)count, sizeof(Range), by_start_then_end);
    /* the parts masked, as the reference clips them: each from the end of the one before, none past the text */
    Py_ssize_t pos = 0, masked = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t a = ranges[k].a > pos ? ranges[k].a : pos, b = ranges[k].b < n ? ranges[k].b : n;
        ranges[k].a = a;
        ranges[k].b = b;
        if (a < b) {
            pos = b;
            masked++;
        }
    }
    if (!masked) {  /* nothing to mask: the reference's join gives the text itself */
        result = Py_NewRef(text);
        goto done;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    /* the widest character left (a str is stored as narrow as its widest character allows) */
    Py_UCS4 widest = '*';
    Py_ssize_t k = 0;
    for (Py_ssize_t p = 0; p < n; p++) {
        while (k < count && (ranges[k].a >= ranges[k].b || ranges[k].b <= p))
            k++;
        Py_UCS4 c = PyUnicode_READ(kind, data, p);
        int inside = k < count && ranges[k].a <= p;
        if ((!inside || (ranges[k].b - ranges[k].a > 1 && kept(c, email))) && c > widest)
            widest = c;
    }
    result = PyUnicode_New(n, widest);
    if (result == NULL)
        goto done;
    int out_kind = PyUnicode_KIND(result);
    void *out = PyUnicode_DATA(result);
    k = 0;
    for (Py_ssize_t p = 0; p < n; p++) {
        while (k < count && (ranges[k].a >= ranges[k].b || ranges[k].b <= p))
            k++;
        Py_UCS4 c = PyUnicode_READ(kind, data, p);
        int inside = k < count && ranges[k].a <= p;
        PyUnicode_WRITE(out_kind, out, p, inside && (ranges[k].b - ranges[k].a == 1 || !kept(c, email)) ? '*' : c);
    }
done:
    PyMem_Free(ranges);
    Py_DECREF(seq);
    return result;
}

/* --- whole_spans: the PiiSpans of a transcript without word timings (pii._python_whole_spans) --- */

/* PiiSpan's field names and the utterance attributes read, interned once at module init and never changed */
static PyObject *F_UTTERANCE_INDEX, *F_KIND, *F_START, *F_END, *F_WORD_INDICES, *F_GROUP, *F_EXACT;

/* a span_type made as qa_engine.types.build makes it: object.__new__, then a __dict__ of the fields in field order (a
   dict of its own, as build's update of an empty __dict__ from keyword arguments leaves it: filling the instance's
   shared-key __dict__ one key at a time made every later attribute read slower) */
static PyObject *new_span(PyTypeObject *span_type, PyObject *index, PyObject *kind, PyObject *start, PyObject *end,
                          PyObject *group, PyObject *no_words) {
    PyObject *no_args = PyTuple_New(0);
    if (no_args == NULL)
        return NULL;
    PyObject *span = PyBaseObject_Type.tp_new(span_type, no_args, NULL);
    Py_DECREF(no_args);
    if (span == NULL)
        return NULL;
    PyObject *fields = PyDict_New();
    if (fields == NULL || PyDict_SetItem(fields, F_UTTERANCE_INDEX, index) || PyDict_SetItem(fields, F_KIND, kind)
            || PyDict_SetItem(fields, F_START, start) || PyDict_SetItem(fields, F_END, end)
            || PyDict_SetItem(fields, F_WORD_INDICES, no_words) || PyDict_SetItem(fields, F_GROUP, group)
            || PyDict_SetItem(fields, F_EXACT, Py_False) || PyObject_GenericSetDict(span, fields, NULL)) {
        Py_XDECREF(fields);
        Py_DECREF(span);
        return NULL;
    }
    Py_DECREF(fields);
    return span;
}

/* the spans of one utterance's parts (each a (ranges, kind, group) named tuple), appended to out */
static int utterance_spans(PyTypeObject *span_type, PyObject *utts, PyObject *item, PyObject *no_words,
                           PyObject *out) {
    PyObject *index, *parts;
    if (!PyArg_ParseTuple(item, "OO", &index, &parts))
        return -1;
    PyObject *u = PyObject_GetItem(utts, index);
    if (u == NULL)
        return -1;
    PyObject *start = PyObject_GetAttr(u, F_START), *end = start ? PyObject_GetAttr(u, F_END) : NULL;
    Py_DECREF(u);
    PyObject *seq = end ? PySequence_Tuple(parts) : NULL;
    int failed = seq == NULL;
    for (Py_ssize_t k = 0; !failed && k < PyTuple_GET_SIZE(seq); k++) {
        PyObject *part = PyTuple_GET_ITEM(seq, k);
        if (!PyTuple_Check(part) || PyTuple_GET_SIZE(part) != 3) {
            PyErr_SetString(PyExc_TypeError, "whole_spans: a part is a (ranges, kind, group) named tuple");
            failed = 1;
            break;
        }
        PyObject *span = new_span(span_type, index, PyTuple_GET_ITEM(part, 1), start, end, PyTuple_GET_ITEM(part, 2),
                                  no_words);
        failed = span == NULL || PyList_Append(out, span);
        Py_XDECREF(span);
    }
    Py_XDECREF(seq);
    Py_XDECREF(start);
    Py_XDECREF(end);
    return failed ? -1 : 0;
}

static PyObject *whole_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyType_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "whole_spans(span_type, utts, items): a class, utterances, (index, parts)");
        return NULL;
    }
    PyObject *items = PySequence_Tuple(args[2]), *out = PyList_New(0), *no_words = PyTuple_New(0);
    int failed = items == NULL || out == NULL || no_words == NULL;
    for (Py_ssize_t k = 0; !failed && k < PyTuple_GET_SIZE(items); k++)
        failed = utterance_spans((PyTypeObject *)args[0], args[1], PyTuple_GET_ITEM(items, k), no_words, out) < 0;
    Py_XDECREF(items);
    Py_XDECREF(no_words);
    if (failed) {
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}

/* --- quoted: the utterance texts an explanation quotes, also cut short, masked as the transcript has them
   (pii._python_quoted) --- */

/* how many first characters of orig s repeats from p on, its first `least` known to be there (pii._shared: what its
   halving finds is where the two first differ, or the end of the shorter) */
static Py_ssize_t shared(PyObject *s, Py_ssize_t p, PyObject *orig, Py_ssize_t least) {
    Text a = {PyUnicode_KIND(s), PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s)};
    Text b = {PyUnicode_KIND(orig), PyUnicode_DATA(orig), PyUnicode_GET_LENGTH(orig)};
    Py_ssize_t k = least, most = Py_MIN(b.n, a.n - p);
    while (k < most && at(&a, p + k) == at(&b, k))
        k++;
    return k;
}

/* s with each occurrence of orig's head made new's start, as far as s repeats orig; a new reference, NULL on error */
static PyObject *quote_one(PyObject *s, PyObject *orig, PyObject *new, Py_ssize_t quote_min) {
    PyObject *head = PyUnicode_Substring(orig, 0, quote_min);
    if (head == NULL) {
        Py_DECREF(s);
        return NULL;
    }
    Py_ssize_t p = PyUnicode_Find(s, head, 0, PyUnicode_GET_LENGTH(s), 1);
    while (p >= 0) {
        Py_ssize_t k = shared(s, p, orig, quote_min), n = PyUnicode_GET_LENGTH(s);
        PyObject *parts = Py_BuildValue("(NNN)", PyUnicode_Substring(s, 0, p),
                                        PyUnicode_Substring(new, 0, Py_MIN(k, PyUnicode_GET_LENGTH(new))),
                                        PyUnicode_Substring(s, p + k, n));  /* s[:p] + new[:k] + s[p + k:] */
        PyObject *empty = parts ? PyUnicode_New(0, 0) : NULL;
        PyObject *joined = empty ? PyUnicode_Join(empty, parts) : NULL;
        Py_XDECREF(parts);
        Py_XDECREF(empty);
        Py_DECREF(s);
        if (joined == NULL) {
            Py_DECREF(head);
            return NULL;
        }
        s = joined;
        p = p + k > PyUnicode_GET_LENGTH(s) ? -1 : PyUnicode_Find(s, head, p + k, PyUnicode_GET_LENGTH(s), 1);
    }
    Py_DECREF(head);
    if (p == -2) {
        Py_DECREF(s);
        return NULL;
    }
    return s;
}

static PyObject *quoted(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    Py_ssize_t quote_min = nargs == 3 ? PyLong_AsSsize_t(args[2]) : -1;
    if (quote_min == -1 && PyErr_Occurred())
        return NULL;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[1]) || quote_min < 1) {
        PyErr_SetString(PyExc_TypeError, "quoted(text, changed, quote_min): a str, a dict, a positive int");
        return NULL;
    }
    PyObject *changed = args[1], *orig, *new;
    Py_ssize_t pos = 0;
    while (PyDict_Next(changed, &pos, &orig, &new))  /* the Python path for what it alone knows how to take */
        if (!PyUnicode_CheckExact(orig) || !PyUnicode_CheckExact(new) || PyUnicode_GET_LENGTH(orig) < quote_min)
            Py_RETURN_NONE;
    PyObject *s = Py_NewRef(args[0]);
    pos = 0;
    Py_ssize_t size = PyDict_GET_SIZE(changed);
    while (s != NULL && PyDict_Next(changed, &pos, &orig, &new)) {
        Py_INCREF(orig);  /* held over the searches: nothing here changes the dict, but the items stay ours */
        Py_INCREF(new);
        s = quote_one(s, orig, new, quote_min);
        Py_DECREF(orig);
        Py_DECREF(new);
        if (s != NULL && PyDict_GET_SIZE(changed) != size) {
            PyErr_SetString(PyExc_RuntimeError, "quoted: the dict changed size during the loop");
            Py_CLEAR(s);
        }
    }
    return s;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_O,
     "scan(strings) -> (words, runs, starts, digits) | None: qa_engine.pii._python_flag's findings, in one pass."},
    {"quoted", (PyCFunction)(void (*)(void))quoted, METH_FASTCALL,
     "quoted(text, changed, quote_min) -> str | None: pii._python_quoted (None: an item it leaves to the reference)."},
    {"long_runs", (PyCFunction)(void (*)(void))long_runs, METH_FASTCALL,
     "long_runs(text, runs, match_type) -> list | None: pii._python_keep_runs where every run is 9+ decimal digits "
     "(or 7+ with no unit after and no currency before)."},
    {"mask", (PyCFunction)(void (*)(void))mask, METH_FASTCALL,
     "mask(text, ranges, email) -> str: pii._python_apply, every character in ranges but spaces made '*'."},
    {"whole_spans", (PyCFunction)(void (*)(void))whole_spans, METH_FASTCALL,
     "whole_spans(span_type, utts, items) -> list: pii._python_whole_spans, one PiiSpan per part of each item."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pii", "The PII masker's passes over a call's strings (see qa_engine.pii).", -1, methods,
};

static int intern(PyObject **name, const char *text) {
    if (*name == NULL)
        *name = PyUnicode_InternFromString(text);
    return *name == NULL ? -1 : 0;
}

PyMODINIT_FUNC PyInit__pii(void) {
    if (intern(&ID_NUMBER, "id_number") || intern(&BANK_CARD, "bank_card") || intern(&PHONE, "phone")
            || intern(&NUMBER, "number") || intern(&F_UTTERANCE_INDEX, "utterance_index") || intern(&F_KIND, "kind")
            || intern(&F_START, "start") || intern(&F_END, "end") || intern(&F_WORD_INDICES, "word_indices")
            || intern(&F_GROUP, "group") || intern(&F_EXACT, "exact"))
        return NULL;
    return PyModule_Create(&module);
}
