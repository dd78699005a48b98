/*
 * address.c - address-book identities of Internet addresses:
 * one-off EntryIDs and search keys (MS-OXCDATA 2.2.5.1, oxcmail-mapping.md 1.5)
 * and FLATENTRYLIST (MS-OXCDATA 2.3.3) for PidTagReplyRecipientEntries.
 */
#include <string.h>

#include "mapper-private.h"

/* MS-OXCDATA 2.2.5.1: ProviderUID of one-off EntryIDs (MUIDOOP) */
static const guint8 muid_oop[16] = {
	0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19,
	0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02,
};

#define ONEOFF_UNICODE      0x8000u /* strings are UTF-16LE */
#define ONEOFF_NO_RICH_INFO 0x0001u /* send MIME, not TNEF */

static void put_u16(GByteArray *b, guint16 v)
{
	guint8 x[2] = { v & 0xFF, v >> 8 };
	g_byte_array_append(b, x, 2);
}

static void put_u32(GByteArray *b, guint32 v)
{
	guint8 x[4] = { v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, v >> 24 };
	g_byte_array_append(b, x, 4);
}

static void put_utf16z(GByteArray *b, const char *utf8)
{
	glong n = 0;
	gunichar2 *u = g_utf8_to_utf16(utf8 ? utf8 : "", -1, NULL, &n, NULL);
	for (glong i = 0; u && i < n; i++)
		put_u16(b, u[i]);
	put_u16(b, 0);
	g_free(u);
}

GBytes *address_oneoff_entryid(const char *display_name, const char *smtp)
{
	GByteArray *b = g_byte_array_new();
	put_u32(b, 0); /* flags */
	g_byte_array_append(b, muid_oop, sizeof muid_oop);
	put_u16(b, 0); /* version */
	put_u16(b, ONEOFF_UNICODE | ONEOFF_NO_RICH_INFO);
	put_utf16z(b, display_name && *display_name ? display_name : smtp);
	put_utf16z(b, "SMTP");
	put_utf16z(b, smtp);
	return g_byte_array_free_to_bytes(b);
}

GBytes *address_search_key(const char *smtp)
{
	/* "SMTP:" + upper-cased address + NUL (oxcmail-mapping.md 1.5) */
	char *up = g_ascii_strup(smtp ? smtp : "", -1);
	char *key = g_strconcat("SMTP:", up, NULL);
	GBytes *b = g_bytes_new(key, strlen(key) + 1);
	g_free(up);
	g_free(key);
	return b;
}

GBytes *address_flatentrylist(GPtrArray *entryids)
{
	GByteArray *entries = g_byte_array_new();
	for (guint i = 0; i < entryids->len; i++) {
		gsize n;
		const guint8 *d = g_bytes_get_data(entryids->pdata[i], &n);
		put_u32(entries, (guint32)n);
		g_byte_array_append(entries, d, (guint)n);
		static const guint8 pad[4];
		if (n % 4)
			g_byte_array_append(entries, pad, (guint)(4 - n % 4));
	}
	GByteArray *b = g_byte_array_new();
	put_u32(b, entryids->len);
	put_u32(b, entries->len);
	g_byte_array_append(b, entries->data, entries->len);
	g_byte_array_unref(entries);
	return g_byte_array_free_to_bytes(b);
}
