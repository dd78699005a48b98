/*
 * value.c - property values as file text (design.md section 3) and times.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "mapper-private.h"

/* MS-OXCDATA 2.11.1: FILETIME counts 100 ns ticks from 1601-01-01 UTC. */
#define FILETIME_UNIX_EPOCH 11644473600LL

uint64_t mapper_unix_to_filetime(int64_t unix_seconds)
{
	return (uint64_t)(unix_seconds + FILETIME_UNIX_EPOCH) * 10000000ULL;
}

int64_t mapper_filetime_to_unix(uint64_t filetime)
{
	return (int64_t)(filetime / 10000000ULL) - FILETIME_UNIX_EPOCH;
}

void mapper_format_time(int64_t unix_seconds, char buf[static 21])
{
	GDateTime *dt = g_date_time_new_from_unix_utc(unix_seconds);
	if (!dt) {
		/* outside year 1..9999: cannot be shown in ISO 8601 basic form */
		g_strlcpy(buf, "1970-01-01T00:00:00Z", 21);
		return;
	}
	char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
	g_strlcpy(buf, s, 21);
	g_free(s);
	g_date_time_unref(dt);
}

/* RFC 5322 3.3 date-time, with the obsolete zone names of 4.3 */
#define RFC5322_DATE \
	"^([a-z]{3},\\s*)?[0-9]{1,2}\\s+[a-z]{3}\\s+[0-9]{2,4}\\s+" \
	"[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?\\s+([+-][0-9]{4}|[a-z]{1,5})\\s*(\\(.*\\))?$"

mapper_status mapper_parse_time(const char *text, int64_t *unix_seconds)
{
	char *t = g_strstrip(g_strdup(text));
	GDateTime *dt = NULL;

	if (g_regex_match_simple("^[0-9]{4}-[0-9]{2}-[0-9]{2}T", t, 0, 0)) {
		/* ISO 8601 (by its date, not by a 'T' anywhere: "1 May 2024
		 * 09:30:00 GMT" starts with a digit too); a missing offset is not
		 * accepted (ambiguous) */
		dt = g_date_time_new_from_iso8601(t, NULL);
	} else if (*t && g_regex_match_simple(RFC5322_DATE, t, G_REGEX_CASELESS, 0)) {
		/* GMime's parser is lenient ("1 2 3" is a date to it), so the
		 * shape of RFC 5322 3.3 is checked first: a time and a zone */
		dt = g_mime_utils_header_decode_date(t);
	}
	g_free(t);
	if (!dt)
		return MAPPER_INVALID;
	*unix_seconds = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return MAPPER_OK;
}

/* Format a PtypGuid held as 16 bytes, little-endian in the first three
 * fields (MS-OXCDATA 2.5.1). */
static void format_guid(GString *out, const guint8 *g)
{
	g_string_append_printf(out,
		"{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x}\n",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6],
		g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

GBytes *value_render(mapper_prop *prop)
{
	if (prop->rendered)
		return prop->rendered;
	/* binary data is its own file text: shared, not copied (a 100 MiB
	 * attachment would otherwise be held twice) */
	if (PROP_TYPE(prop->tag) == PT_BINARY) {
		prop->rendered = prop->bin ? g_bytes_ref(prop->bin) : g_bytes_new(NULL, 0);
		return prop->rendered;
	}

	GString *out = g_string_new(NULL);
	const mapper_propdef *def = prop->set ? NULL : propdef_by_tag(prop->tag);

	switch (PROP_TYPE(prop->tag)) {
	case PT_UNICODE:
		g_string_append(out, prop->str ? prop->str : "");
		if (!(def && (def->flags & PROPDEF_MULTILINE)))
			g_string_append_c(out, '\n');
		break;
	case PT_SHORT:
	case PT_LONG:
		/* PtypInteger32 is signed (MS-OXCDATA 2.11.1) */
		g_string_append_printf(out, "%d\n", (int32_t)prop->v.i);
		break;
	case PT_I8:
		g_string_append_printf(out, "%" G_GINT64_FORMAT "\n", prop->v.i);
		break;
	case PT_BOOLEAN:
		g_string_append(out, prop->v.b ? "true\n" : "false\n");
		break;
	case PT_SYSTIME: {
		char buf[21];
		mapper_format_time(prop->v.t, buf);
		g_string_append(out, buf);
		g_string_append_c(out, '\n');
		break;
	}
	case PT_CLSID: {
		gsize n = 0;
		const guint8 *g = prop->bin ? g_bytes_get_data(prop->bin, &n) : NULL;
		if (n == 16)
			format_guid(out, g);
		break;
	}
	case PT_MV_UNICODE:
		for (char **s = prop->mv; s && *s; s++) {
			g_string_append(out, *s);
			g_string_append_c(out, '\n');
		}
		break;
	default:
		break;
	}
	prop->rendered = g_string_free_to_bytes(out);
	return prop->rendered;
}
