/*
 * tnef.c - TNEF streams (winmail.dat, MS-OXTNEF) read into message objects,
 * and compressed RTF (MS-OXRTFCP) decompressed.
 *
 * A TNEF stream is a signature, a key and a run of attributes, each framed
 * as level, id, length, data and a 16-bit checksum (MS-OXTNEF 2.1.3.1).
 * Most attributes stand for one property (2.1.3.3, 2.1.3.4); attMsgProps
 * and attAttachment carry whole property lists (2.1.3.5).  Every read here
 * is bounded by the bytes that remain: a count in the stream never sizes an
 * allocation, and each step of every loop consumes input or stops.
 */
#include <string.h>

#include "mapper-private.h"
#include "tags.h"

#define TNEF_SIGNATURE 0x223E9F78u

/* MS-OXTNEF 2.1.3.1: LVL_MESSAGE and LVL_ATTACHMENT */
enum { LEVEL_MESSAGE = 1, LEVEL_ATTACHMENT = 2 };

/* MS-OXTNEF 2.1.3.3 and 2.1.3.4: the attribute ids read here (type in the
 * high word, id in the low one, as they are written) */
#define ATT_SUBJECT          0x00018004u
#define ATT_DATE_SENT        0x00038005u
#define ATT_DATE_RECD        0x00038006u
#define ATT_MESSAGE_CLASS    0x00078008u
#define ATT_BODY             0x0002800Cu
#define ATT_PRIORITY         0x0004800Du
#define ATT_DATE_MODIFIED    0x00038020u
#define ATT_MSG_PROPS        0x00069003u
#define ATT_OEM_CODEPAGE     0x00069007u
#define ATT_ATTACH_REND_DATA 0x00069002u
#define ATT_ATTACH_DATA      0x0006800Fu
#define ATT_ATTACH_TITLE     0x00018010u
#define ATT_ATTACH_CREATE    0x00038012u
#define ATT_ATTACH_MODIFY    0x00038013u
#define ATT_ATTACHMENT       0x00069005u

/* property types of MS-OXCDATA 2.11.1 that only the stream has */
#define PT_FLOAT     0x0004u
#define PT_DOUBLE    0x0005u
#define PT_CURRENCY  0x0006u
#define PT_APPTIME   0x0007u
#define PT_ERROR     0x000Au
#define PT_STRING8   0x001Eu
#define MV_FLAG      0x1000u

#define TAG_TNEF_CORRELATION_KEY PROP_TAG(0x007F, PT_BINARY)
#define TAG_RTF_COMPRESSED PROP_TAG(0x1009, PT_BINARY)

/* ---- bounded reading ------------------------------------------------------ */

typedef struct {
	const guint8 *d;
	size_t len, pos;
} reader;

static bool take(reader *r, size_t n, const guint8 **out)
{
	if (n > r->len - r->pos)
		return false;
	if (out)
		*out = r->d + r->pos;
	r->pos += n;
	return true;
}

static bool u16(reader *r, guint32 *out)
{
	const guint8 *p;
	if (!take(r, 2, &p))
		return false;
	*out = (guint32)p[0] | (guint32)p[1] << 8;
	return true;
}

static bool u32(reader *r, guint32 *out)
{
	const guint8 *p;
	if (!take(r, 4, &p))
		return false;
	*out = (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
	return true;
}

static guint64 le64(const guint8 *p)
{
	guint64 v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Values of variable size are padded to a multiple of 4 (2.1.3.5). */
static bool pad4(reader *r, size_t n)
{
	return take(r, (4 - n % 4) % 4, NULL);
}

/* ---- values ---------------------------------------------------------------- */

/* 8-bit text in code page @cp (attOemCodepage, else Windows-1252) as UTF-8;
 * a NUL ends it, as the stream's strings are NUL-terminated. */
static char *text8(const guint8 *d, size_t n, int cp)
{
	const guint8 *nul = memchr(d, 0, n);
	if (nul)
		n = (size_t)(nul - d);
	const char *cs = text_codepage_charset(cp);
	char *u = g_convert((const char *)d, (gssize)n, "UTF-8", cs ? cs : "windows-1252", NULL, NULL, NULL);
	if (!u)
		u = g_convert((const char *)d, (gssize)n, "UTF-8", "windows-1252", NULL, NULL, NULL);
	if (!u)
		u = g_utf8_make_valid((const char *)d, (gssize)n);
	return u;
}

/* UTF-16LE up to a NUL as UTF-8 (invalid units replaced). */
static char *text16(const guint8 *d, size_t n)
{
	size_t units = n / 2;
	gunichar2 *w = g_new(gunichar2, units + 1);
	size_t k = 0;
	for (; k < units; k++) {
		w[k] = (gunichar2)(d[2 * k] | d[2 * k + 1] << 8);
		if (!w[k])
			break;
	}
	char *u = g_utf16_to_utf8(w, (glong)k, NULL, NULL, NULL);
	if (!u) {
		/* unpaired surrogates: keep what can be shown */
		GString *s = g_string_new(NULL);
		for (size_t i = 0; i < k; i++)
			g_string_append_unichar(s, w[i] >= 0xD800 && w[i] <= 0xDFFF ? 0xFFFD : w[i]);
		u = g_string_free(s, FALSE);
	}
	g_free(w);
	return u;
}

/* MS-OXTNEF 2.1.3.2: a Date is seven 16-bit fields (year .. second, day of
 * the week), taken as UTC. */
static bool tnef_date(const guint8 *d, size_t n, int64_t *out)
{
	if (n < 12)
		return false;
	int f[6];
	for (int i = 0; i < 6; i++)
		f[i] = d[2 * i] | d[2 * i + 1] << 8;
	if (f[0] < 1601 || f[0] > 9999 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
	    f[4] > 59 || f[5] > 60)
		return false;
	GDateTime *t = g_date_time_new_utc(f[0], f[1], f[2], f[3], f[4], f[5]);
	if (!t)
		return false;
	*out = g_date_time_to_unix(t);
	g_date_time_unref(t);
	return true;
}

/* The property set of GUID @g (MS-OXCDATA 2.5.1 byte order), or NULL for a
 * set the object model has no directory for. */
static const mapper_propset *set_by_guid(const guint8 g[16])
{
	static const mapper_propset *const sets[] = {
		&mapper_ps_internet_headers, &mapper_ps_public_strings, &mapper_psetid_common,
		&mapper_psetid_appointment, &mapper_psetid_meeting,
	};
	char s[40];
	g_snprintf(s, sizeof s, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
	           (unsigned)(g[0] | g[1] << 8 | g[2] << 16 | (guint32)g[3] << 24), (unsigned)(g[4] | g[5] << 8),
	           (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
	for (size_t i = 0; i < G_N_ELEMENTS(sets); i++)
		if (g_ascii_strcasecmp(sets[i]->guid, s) == 0)
			return sets[i];
	return NULL;
}

/* Size of one value of a fixed-size type in the stream (2.1.3.5: 16-bit
 * values and booleans take 4 bytes); 0 for a type of variable size, -1 for
 * one the stream cannot hold. */
static int fixed_size(guint32 type)
{
	switch (type) {
	case PT_SHORT: case PT_LONG: case PT_FLOAT: case PT_ERROR: case PT_BOOLEAN:
		return 4;
	case PT_DOUBLE: case PT_CURRENCY: case PT_APPTIME: case PT_I8: case PT_SYSTIME:
		return 8;
	case PT_CLSID:
		return 16;
	case PT_STRING8: case PT_UNICODE: case PT_BINARY: case PT_OBJECT:
		return 0;
	default:
		return -1;
	}
}

typedef struct parse parse;
static mapper_message *read_embedded(parse *p, const guint8 *d, size_t n);

/* What a parse needs all along. */
struct parse {
	int cp;            /* attOemCodepage, for PT_STRING8 values */
	int depth;         /* of the message being read */
	char *error;       /* the first framing error */
	int skipped;       /* properties of a type the object model does not hold */
};

/* One value of a property list into a new property, or NULL when the
 * object model holds no such type (float, currency, error codes ...). */
static mapper_prop *make_value(parse *p, guint32 type, const guint8 *d, size_t n)
{
	mapper_prop *v = g_new0(mapper_prop, 1);
	switch (type) {
	case PT_SHORT:
		v->v.i = (gint16)(d[0] | d[1] << 8);
		break;
	case PT_LONG:
		v->v.i = (gint32)(d[0] | d[1] << 8 | d[2] << 16 | (guint32)d[3] << 24);
		break;
	case PT_BOOLEAN:
		v->v.b = (d[0] | d[1]) != 0;
		break;
	case PT_I8:
		v->v.i = (int64_t)le64(d);
		break;
	case PT_SYSTIME:
		v->v.t = mapper_filetime_to_unix(le64(d));
		break;
	case PT_CLSID:
	case PT_BINARY:
		v->bin = g_bytes_new(d, n);
		break;
	case PT_STRING8:
		v->str = text8(d, n, p->cp);
		break;
	case PT_UNICODE:
		v->str = text16(d, n);
		break;
	default:
		g_free(v);
		return NULL;
	}
	return v;
}

static void flatten(char *s)
{
	for (; s && *s; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

/* Add @v (taken) to @bag, its strings made fit for a file as the bag's own
 * setters make them (design.md 3: single-line values hold no line break). */
static void add_prop(mapper_bag *bag, mapper_prop *v)
{
	if (!v->set && PROP_TYPE(v->tag) == PT_UNICODE) {
		bag_set_string(bag, v->tag, v->str);
		mapper_prop_free(v);
		return;
	}
	if (!v->set && PROP_TYPE(v->tag) == PT_MV_UNICODE) {
		char **mv = v->mv;
		v->mv = NULL;
		bag_set_strv(bag, v->tag, mv);
		mapper_prop_free(v);
		return;
	}
	flatten(v->str);
	for (char **x = v->mv; x && *x; x++)
		flatten(*x);
	bag_add(bag, v);
}

/*
 * A property list (MS-OXTNEF 2.1.3.5: attMsgProps, attAttachment) into
 * @bag; with @att, PidTagAttachDataObject makes @att's embedded message.
 * False on a framing error (what was read before it stays).
 */
static bool read_props(parse *p, mapper_bag *bag, mapper_attachment *att, const guint8 *d, size_t len)
{
	reader r = { d, len, 0 };
	guint32 count;
	if (!u32(&r, &count))
		return false;
	/* each property takes at least 8 bytes: the count cannot outrun the data */
	for (guint32 i = 0; i < count; i++) {
		guint32 tag, kind, lid = 0;
		const guint8 *guid = NULL;
		char *name = NULL;
		if (!u32(&r, &tag))
			return false;
		guint32 type = PROP_TYPE(tag), id = PROP_ID(tag);
		if (id >= 0x8000) {
			/* 2.1.3.5: PropertyName = GUID, kind, then the number or the name */
			if (!take(&r, 16, &guid) || !u32(&r, &kind))
				return false;
			if (kind == 0) {
				if (!u32(&r, &lid))
					return false;
			} else {
				guint32 nlen;
				const guint8 *nd;
				if (!u32(&r, &nlen) || !take(&r, nlen, &nd) || !pad4(&r, nlen))
					return false;
				name = text16(nd, nlen);
			}
		}
		bool mv = (type & MV_FLAG) != 0;
		guint32 base = type & ~(guint32)(MV_FLAG | 0x2000u);
		int size = fixed_size(base);
		if (size < 0) {
			g_free(name);
			return false;   /* a type of unknown size: nothing after it can be read */
		}
		guint32 nvalues = 1;
		if ((mv || size == 0) && !u32(&r, &nvalues)) {
			g_free(name);
			return false;
		}
		GPtrArray *values = g_ptr_array_new_with_free_func(mapper_prop_free);
		bool ok = true;
		for (guint32 k = 0; k < nvalues && ok; k++) {
			const guint8 *vd;
			guint32 vlen = (guint32)size;
			if (size == 0)
				ok = u32(&r, &vlen) && take(&r, vlen, &vd) && pad4(&r, vlen);
			else
				ok = take(&r, vlen, &vd);
			if (!ok)
				break;
			if (base == PT_OBJECT) {
				/* 2.1.3.5: an IID, then for IID_IMessage a whole TNEF stream:
				 * PidTagAttachDataObject of an embedded message */
				static const guint8 iid_imessage[16] = { 0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
				                                         0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };
				if (att && !mv && id == 0x3701 && vlen > 16 && memcmp(vd, iid_imessage, 16) == 0 &&
				    !att->embedded)
					att->embedded = read_embedded(p, vd + 16, vlen - 16);
				continue;
			}
			if (mv && base != PT_STRING8 && base != PT_UNICODE)
				continue;   /* multi-valued: only strings are held (PT_MV_UNICODE) */
			mapper_prop *v = make_value(p, base, vd, vlen);
			if (v)
				g_ptr_array_add(values, v);
		}
		if (!ok) {
			g_free(name);
			g_ptr_array_unref(values);
			return false;
		}
		mapper_prop *v = NULL;
		if (base == PT_OBJECT) {
			/* done above */
		} else if (mv && (base == PT_STRING8 || base == PT_UNICODE)) {
			char **strv = g_new0(char *, values->len + 1);
			for (guint k = 0; k < values->len; k++) {
				mapper_prop *x = values->pdata[k];
				strv[k] = x->str;
				x->str = NULL;
			}
			v = g_new0(mapper_prop, 1);
			v->tag = PROP_TAG(id, PT_MV_UNICODE);
			v->mv = strv;
		} else if (!mv && values->len == 1) {
			v = g_ptr_array_steal_index(values, 0);
			v->tag = PROP_TAG(id, base == PT_STRING8 ? PT_UNICODE : base);
		} else if (!mv && values->len == 0 && base != PT_OBJECT) {
			p->skipped++;
		}
		g_ptr_array_unref(values);
		if (v && id >= 0x8000) {
			const mapper_propset *set = set_by_guid(guid);
			if (!set) {
				mapper_prop_free(v);
				v = NULL;
				p->skipped++;
			} else {
				v->set = set;
				v->name = name;
				v->lid = lid;
				name = NULL;
				v->tag = PROP_TAG(0, PROP_TYPE(v->tag));   /* numbered by bag_number_named */
			}
		}
		g_free(name);
		if (v)
			add_prop(bag, v);
	}
	return true;
}

/* MS-OXTNEF 2.1.3.3.4 / MS-OXCMAIL: message classes of old forms named as
 * Exchange names them. */
static const char *modern_class(const char *cls)
{
	static const char *const map[][2] = {
		{ "IPM.Microsoft Schedule.MtgReq", "IPM.Schedule.Meeting.Request" },
		{ "IPM.Microsoft Schedule.MtgRespP", "IPM.Schedule.Meeting.Resp.Pos" },
		{ "IPM.Microsoft Schedule.MtgRespN", "IPM.Schedule.Meeting.Resp.Neg" },
		{ "IPM.Microsoft Schedule.MtgRespA", "IPM.Schedule.Meeting.Resp.Tent" },
		{ "IPM.Microsoft Schedule.MtgCncl", "IPM.Schedule.Meeting.Canceled" },
		{ "IPM.Microsoft Mail.Non-Delivery", "REPORT.IPM.Note.NDR" },
		{ "IPM.Microsoft Mail.Read Receipt", "REPORT.IPM.Note.IPNRN" },
		{ "IPM.Microsoft Mail.Note", "IPM.Note" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
		if (strcmp(cls, map[i][0]) == 0)
			return map[i][1];
	return cls;
}

/* A message-level attribute other than attMsgProps. */
static void message_attribute(parse *p, mapper_message *t, guint32 id, const guint8 *d, size_t n)
{
	int64_t when;
	char *s;
	switch (id) {
	case ATT_OEM_CODEPAGE:
		if (n >= 4)
			p->cp = (int)(d[0] | d[1] << 8 | d[2] << 16 | (guint32)d[3] << 24);
		break;
	case ATT_MESSAGE_CLASS:
		s = text8(d, n, p->cp);
		if (*s)
			bag_set_string(&t->props, TAG_MESSAGE_CLASS, modern_class(s));
		g_free(s);
		break;
	case ATT_SUBJECT:
		s = text8(d, n, p->cp);
		bag_set_string(&t->props, TAG_SUBJECT, s);
		g_free(s);
		break;
	case ATT_BODY:
		s = text8(d, n, p->cp);
		bag_set_string(&t->props, TAG_BODY, s);
		g_free(s);
		break;
	case ATT_DATE_SENT:
		if (tnef_date(d, n, &when))
			bag_set_time(&t->props, TAG_CLIENT_SUBMIT_TIME, when);
		break;
	case ATT_DATE_RECD:
		if (tnef_date(d, n, &when))
			bag_set_time(&t->props, TAG_MESSAGE_DELIVERY_TIME, when);
		break;
	case ATT_DATE_MODIFIED:
		if (tnef_date(d, n, &when))
			bag_set_time(&t->props, TAG_LAST_MODIFICATION_TIME, when);
		break;
	case ATT_PRIORITY:
		/* 2.1.3.3.8: 1 high, 2 normal, 3 low -> PidTagImportance 2, 1, 0 */
		if (n >= 2) {
			int v = d[0] | d[1] << 8;
			if (v >= 1 && v <= 3)
				bag_set_int(&t->props, TAG_IMPORTANCE, 3 - v);
		}
		break;
	case ATT_MSG_PROPS:
		if (!read_props(p, &t->props, NULL, d, n) && !p->error)
			p->error = g_strdup("attMsgProps holds a malformed property list");
		break;
	default:
		break;   /* attFrom, attMessageID, attRecipTable ...: the MIME header says these */
	}
}

/* An attachment-level attribute (2.1.3.4). */
static void attachment_attribute(parse *p, mapper_attachment *a, guint32 id, const guint8 *d, size_t n)
{
	int64_t when;
	char *s;
	switch (id) {
	case ATT_ATTACH_REND_DATA:
		/* AttachType 2 is an OLE object (afOle, MS-OXCMSG 2.2.2.9) */
		if (n >= 6) {
			guint32 type = d[0] | d[1] << 8;
			gint32 pos = (gint32)(d[2] | d[3] << 8 | d[4] << 16 | (guint32)d[5] << 24);
			if (type == 2)
				bag_set_int(&a->props, TAG_ATTACH_METHOD, 6);
			bag_set_int(&a->props, TAG_RENDERING_POSITION, pos);
		}
		break;
	case ATT_ATTACH_DATA:
		bag_set_binary(&a->props, TAG_ATTACH_DATA_BINARY, d, n);
		break;
	case ATT_ATTACH_TITLE:
		s = text8(d, n, p->cp);
		bag_set_string(&a->props, TAG_ATTACH_FILENAME, s);
		g_free(s);
		break;
	case ATT_ATTACH_CREATE:
		if (tnef_date(d, n, &when))
			bag_set_time(&a->props, TAG_CREATION_TIME, when);
		break;
	case ATT_ATTACH_MODIFY:
		if (tnef_date(d, n, &when))
			bag_set_time(&a->props, TAG_LAST_MODIFICATION_TIME, when);
		break;
	case ATT_ATTACHMENT:
		if (!read_props(p, &a->props, a, d, n) && !p->error)
			p->error = g_strdup("attAttachment holds a malformed property list");
		break;
	default:
		break;   /* attAttachMetaFile (the icon), attAttachTransportFilename */
	}
}

/* The names, size and method an attachment object has (4.2's set), from
 * what the stream gave: the long name falls back on the title. */
static void finish_attachment(mapper_attachment *a, guint index)
{
	mapper_bag *b = &a->props;
	bag_set_int(b, TAG_ATTACH_NUMBER, index);
	if (!bag_get(b, TAG_RENDERING_POSITION))
		bag_set_int(b, TAG_RENDERING_POSITION, -1);
	if (!bag_get(b, TAG_ATTACH_METHOD))
		bag_set_int(b, TAG_ATTACH_METHOD, a->embedded ? 5 : 1);
	mapper_prop *title = bag_get(b, TAG_ATTACH_FILENAME), *lng = bag_get(b, TAG_ATTACH_LONG_FILENAME);
	if (!lng && title && title->str && *title->str)
		bag_set_string(b, TAG_ATTACH_LONG_FILENAME, title->str);
	lng = bag_get(b, TAG_ATTACH_LONG_FILENAME);
	if (lng && lng->str && !bag_get(b, TAG_ATTACH_EXTENSION)) {
		const char *dot = strrchr(lng->str, '.');
		if (dot && dot[1])
			bag_set_string(b, TAG_ATTACH_EXTENSION, dot);
	}
	if (!bag_get(b, TAG_DISPLAY_NAME) && lng && lng->str)
		bag_set_string(b, TAG_DISPLAY_NAME, lng->str);
	mapper_prop *data = bag_get(b, TAG_ATTACH_DATA_BINARY);
	if (!a->embedded && !data)
		bag_set_binary(b, TAG_ATTACH_DATA_BINARY, "", 0);
	data = bag_get(b, TAG_ATTACH_DATA_BINARY);
	if (data && data->bin)
		bag_set_int(b, TAG_ATTACH_SIZE, (int64_t)g_bytes_get_size(data->bin));
	if (!bag_get(b, TAG_ATTACHMENT_HIDDEN))
		bag_set_bool(b, TAG_ATTACHMENT_HIDDEN, FALSE);
}

/* The stream @d into @t (message props and attachments). False on a
 * framing error, with p->error set; what came before it stays in @t. */
static bool read_stream(parse *p, mapper_message *t, const guint8 *d, size_t len)
{
	reader r = { d, len, 0 };
	guint32 sig, key;
	if (!u32(&r, &sig) || sig != TNEF_SIGNATURE || !u16(&r, &key)) {
		p->error = g_strdup("no TNEF signature");
		return false;
	}
	mapper_attachment *cur = NULL;
	while (r.pos < r.len) {
		size_t at = r.pos;
		const guint8 *level, *data;
		guint32 id, alen, sum;
		if (!take(&r, 1, &level) || !u32(&r, &id) || !u32(&r, &alen) || !take(&r, alen, &data) ||
		    !u16(&r, &sum)) {
			p->error = g_strdup_printf("the attribute at offset %zu is cut short", at);
			return false;
		}
		guint32 s = 0;
		for (guint32 i = 0; i < alen; i++)
			s += data[i];
		if ((s & 0xFFFF) != sum) {
			p->error = g_strdup_printf("attribute 0x%08X at offset %zu: checksum 0x%04X, 0x%04X expected",
			                           id, at, sum, s & 0xFFFF);
			return false;
		}
		if (*level == LEVEL_ATTACHMENT) {
			/* 2.1.3.4: attAttachRendData begins each attachment */
			if (id == ATT_ATTACH_REND_DATA || !cur) {
				cur = attachment_new();
				g_ptr_array_add(t->attachments, cur);
			}
			attachment_attribute(p, cur, id, data, alen);
		} else {
			message_attribute(p, t, id, data, alen);
		}
		if (p->error)
			return false;
	}
	for (guint i = 0; i < t->attachments->len; i++)
		finish_attachment(t->attachments->pdata[i], i);
	return true;
}

/* A TNEF stream embedded in an attachment (PidTagAttachDataObject) as a
 * message object; NULL when it is nested too deep or is no TNEF. */
static mapper_message *read_embedded(parse *p, const guint8 *d, size_t n)
{
	if (p->depth + 1 > MAPPER_MAX_DEPTH)
		return NULL;
	mapper_message *e = message_new(p->depth + 1);
	e->level = MAPPER_LOAD_FULL;
	parse sub = { .cp = p->cp, .depth = p->depth + 1 };
	bool ok = read_stream(&sub, e, d, n);
	p->skipped += sub.skipped;
	if (!ok && !p->error)
		p->error = g_strdup_printf("embedded message: %s", sub.error);
	g_free(sub.error);
	if (!bag_get(&e->props, TAG_MESSAGE_CLASS))
		bag_set_string(&e->props, TAG_MESSAGE_CLASS, "IPM.Note");
	bag_set_int(&e->props, TAG_MESSAGE_FLAGS, e->attachments->len ? MF_HAS_ATTACH : 0);
	bag_set_bool(&e->props, TAG_HAS_ATTACHMENTS, e->attachments->len > 0);
	bag_number_named(&e->props);
	return e;
}

/* ---- into the message ------------------------------------------------------ */

/* Properties a store keeps for itself (MS-OXCMSG 2.2.1): the message file
 * and its Maildir flags say these, not what the sender's store had. */
static bool store_owned(uint32_t tag)
{
	switch (PROP_ID(tag)) {
	case 0x0E06:   /* PidTagMessageDeliveryTime: when it came here */
	case 0x0E07:   /* PidTagMessageFlags: the Maildir flags */
	case 0x0E08:   /* PidTagMessageSize */
	case 0x0E17:   /* PidTagMessageStatus */
	case 0x0E1B:   /* PidTagHasAttachments: the attachment table */
	case 0x007D:   /* PidTagTransportMessageHeaders: the header block as it came */
	case 0x0FF4: case 0x0FF7: case 0x0FF9: case 0x0FFB: case 0x0FFE: case 0x0FFF:
	case 0x0E09: case 0x340D: case 0x3FDE:
		return true;
	case 0x3FF1:   /* PidTagMessageLocaleId: Content-Language wins (MS-OXCMAIL 2.2.3.2.11) */
		return true;
	default:
		return false;
	}
}

/* A copy of @v for another bag. */
static mapper_prop *prop_copy(const mapper_prop *v)
{
	mapper_prop *c = g_new0(mapper_prop, 1);
	c->tag = v->tag;
	c->set = v->set;
	c->name = g_strdup(v->name);
	c->lid = v->lid;
	c->v = v->v;
	c->str = g_strdup(v->str);
	c->bin = v->bin ? g_bytes_ref(v->bin) : NULL;
	c->mv = g_strdupv(v->mv);
	return c;
}

/* Whether the correlation key @key (PidTagTnefCorrelationKey) is the
 * header's @correlator: the same bytes, the key with or without its
 * terminating NUL (MS-OXCMAIL 2.1.3.2.26; Exchange copies the Message-ID
 * with its NUL). */
static bool key_matches(GBytes *key, const char *correlator)
{
	gsize n;
	const char *k = g_bytes_get_data(key, &n);
	if (n && k[n - 1] == '\0')
		n--;
	size_t cl = strlen(correlator);
	return n == cl && memcmp(k, correlator, n) == 0;
}

tnef_result tnef_read(const void *data, size_t len, const char *correlator, int depth, tnef_content **out,
                      char **why)
{
	*out = NULL;
	mapper_message *t = message_new(depth);
	parse p = { .cp = 1252, .depth = depth };
	if (!read_stream(&p, t, data, len)) {
		*why = p.error;
		mapper_message_free(t);
		return TNEF_BAD;
	}
	g_free(p.error);
	/* MS-OXCMAIL 2.1.3.2.26: a stream whose key is not the message's was
	 * forwarded or attached by something that does not know TNEF; a stream
	 * without a key belongs to the message it is in */
	mapper_prop *key = bag_get(&t->props, TAG_TNEF_CORRELATION_KEY);
	if (key && key->bin && !(correlator && key_matches(key->bin, correlator))) {
		*why = g_strdup_printf("its PidTagTnefCorrelationKey is not the X-MS-TNEF-Correlator%s",
		                       correlator ? "" : " (the message has none)");
		mapper_message_free(t);
		return TNEF_NOT_OURS;
	}
	tnef_content *c = g_new0(tnef_content, 1);
	c->shadow = t;
	c->skipped = p.skipped;
	*out = c;
	return TNEF_OK;
}

guint tnef_attachment_count(const tnef_content *c)
{
	return c->shadow->attachments->len;
}

void tnef_take_attachments(tnef_content *c, mapper_message *m)
{
	GPtrArray *from = c->shadow->attachments;
	while (from->len) {
		mapper_attachment *a = g_ptr_array_steal_index(from, 0);
		a->origin = (int)m->attachments->len + 1;
		a->tnef = true;
		bag_set_int(&a->props, TAG_ATTACH_NUMBER, m->attachments->len);
		g_ptr_array_add(m->attachments, a);
	}
}

void tnef_apply_props(tnef_content *c, mapper_message *m)
{
	mapper_bag *from = &c->shadow->props;
	for (guint i = 0; i < from->props->len; i++) {
		mapper_prop *v = from->props->pdata[i];
		if (!v || (!v->set && store_owned(v->tag)))
			continue;
		mapper_prop *copy = prop_copy(v);
		copy->tnef = true;
		if (v->set) {
			mapper_prop *old = v->name ? bag_get_named(&m->props, v->set, v->name)
			                           : bag_get_lid(&m->props, v->set, v->lid);
			if (old)
				bag_remove_prop(&m->props, old);
		}
		bag_add(&m->props, copy);
	}
	/* the RTF body, readable (design.md 2: body.rtf) */
	mapper_prop *rtf = bag_get(&m->props, TAG_RTF_COMPRESSED);
	if (rtf && rtf->bin) {
		gsize n;
		const guint8 *d = g_bytes_get_data(rtf->bin, &n);
		char *why = NULL;
		GBytes *plain = rtf_decompress(d, n, &why);
		if (plain) {
			if (m->rtf)
				g_bytes_unref(m->rtf);
			m->rtf = plain;
		} else {
			message_warn(m, "PidTagRtfCompressed cannot be decompressed: %s (MS-OXRTFCP)", why);
			g_free(why);
		}
	}
	bag_number_named(&m->props);
}

void tnef_content_free(tnef_content *c)
{
	if (!c)
		return;
	mapper_message_free(c->shadow);
	g_free(c);
}

/* ---- compressed RTF (MS-OXRTFCP) ------------------------------------------- */

/* 2.1.3.1.1: the dictionary's first 207 bytes */
static const char rtf_prebuf[] =
	"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern "
	"\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0"
	"\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

#define RTF_COMPRESSED 0x75465A4Cu    /* "LZFu" */
#define RTF_UNCOMPRESSED 0x414C454Du  /* "MELA" */
/* A body larger than this is not decompressed (a 4 GiB RAWSIZE must not
 * size an allocation): far beyond any message body. */
#define RTF_MAX (256u << 20)

/* 2.1.3.2: CRC-32 (polynomial 0xEDB88320) from 0, not inverted */
static guint32 rtf_crc(const guint8 *d, size_t n)
{
	static guint32 table[256];
	static gsize made;
	if (g_once_init_enter(&made)) {
		for (guint32 i = 0; i < 256; i++) {
			guint32 c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		g_once_init_leave(&made, 1);
	}
	guint32 crc = 0;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ d[i]) & 0xFF] ^ (crc >> 8);
	return crc;
}

GBytes *rtf_decompress(const guint8 *d, size_t len, char **why)
{
	reader r = { d, len, 0 };
	guint32 comp_size, raw_size, type, crc;
	if (!u32(&r, &comp_size) || !u32(&r, &raw_size) || !u32(&r, &type) || !u32(&r, &crc)) {
		*why = g_strdup("shorter than its 16-byte header");
		return NULL;
	}
	/* COMPSIZE counts what follows it; trailing bytes beyond it are ignored */
	size_t end = comp_size >= 12 && (size_t)comp_size - 12 <= len - 16 ? 4 + (size_t)comp_size : len;
	if (type == RTF_UNCOMPRESSED) {
		size_t n = MIN((size_t)raw_size, end - 16);
		return g_bytes_new(d + 16, n);
	}
	if (type != RTF_COMPRESSED) {
		*why = g_strdup_printf("unknown COMPTYPE 0x%08X", type);
		return NULL;
	}
	if (rtf_crc(d + 16, end - 16) != crc) {
		*why = g_strdup("CRC mismatch");
		return NULL;
	}
	if (raw_size > RTF_MAX) {
		*why = g_strdup_printf("RAWSIZE %u is too large", raw_size);
		return NULL;
	}
	guint8 dict[4096];
	memcpy(dict, rtf_prebuf, sizeof rtf_prebuf - 1);
	guint32 wpos = sizeof rtf_prebuf - 1;
	GByteArray *out = g_byte_array_sized_new(MIN(raw_size, (guint32)(len * 8 + 64)));
	size_t pos = 16;
	bool done = false;
	/* 2.2.1: a control byte, then eight runs (LSB first): a literal, or a
	 * 12-bit offset and 4-bit length (+2) into the ring; the reference to
	 * the write position itself ends the stream */
	while (pos < end && !done && out->len < raw_size) {
		guint8 control = d[pos++];
		for (int bit = 0; bit < 8 && pos < end && out->len < raw_size; bit++) {
			if (!(control & (1u << bit))) {
				guint8 c = d[pos++];
				g_byte_array_append(out, &c, 1);
				dict[wpos] = c;
				wpos = (wpos + 1) % 4096;
				continue;
			}
			if (end - pos < 2) {
				pos = end;
				break;
			}
			guint32 ref = (guint32)d[pos] << 8 | d[pos + 1];
			pos += 2;
			guint32 off = ref >> 4, n = (ref & 0xF) + 2;
			if (off == wpos) {
				done = true;
				break;
			}
			for (guint32 k = 0; k < n && out->len < raw_size; k++) {
				guint8 c = dict[(off + k) % 4096];
				g_byte_array_append(out, &c, 1);
				dict[wpos] = c;
				wpos = (wpos + 1) % 4096;
			}
		}
	}
	return g_byte_array_free_to_bytes(out);
}
