/*
 * mapper-tool-jsonl.c - "mapper-tool export --jsonl SOURCE [FOLDER...]":
 * every message object of a mailbox (a Maildir or a tree of .eml files) as
 * one JSON object a line on stdout, for processing pipelines that outgrow
 * one machine (issue 14, design.md 9).
 *
 * Folders and message names are those a mount of SOURCE shows, so that
 * "folder"/"name" is a directory of the mount.  fs/store.c works them out
 * for the daemon, but fs/ is a layer above the mapper and cannot be linked
 * here, so the walk is written again below, rule for rule; each piece
 * names the store.c function it follows.  Symbolic links are never
 * followed: every directory and file is opened relative to its parent with
 * O_NOFOLLOW, as the daemon's openat2(RESOLVE_NO_SYMLINKS) does.
 *
 * Memory does not grow with the number of messages: directories are read
 * as a stream (only subfolder names are kept), one message is converted
 * and written at a time, and an attachment of 1 MiB or more in a message
 * of 4 MiB or more stays in its file (mapper_message_load_file, the
 * daemon's limits in fs/cache.c) and is hashed in pieces.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto-options.h"
#include "mapper-tool-jsonl.h"
#include "mapper.h"

/* fs/cache.c's: a message file this big is parsed from the file, and its
 * attachment parts this big stay there; the same limits give the same
 * objects as the mount (and the same memory). */
#define FILE_LOAD_MIN ((off_t)4 << 20)
#define DEFER_MIN ((size_t)1 << 20)
/* Hashing reads this much at a time, as fs/ops.c's row_digests does. */
#define PIECE ((size_t)1 << 20)

/* fs/store.c: how far holds_maildirs() looks below a plain directory. */
#define MAILDIR_SEARCH_DEPTH 4
#define MAILDIR_SEARCH_ENTRIES 4096

/* What a folder is (fs/mapifs.h folder_type). */
typedef enum {
	F_ROOT,    /* the root of a Maildir: INBOX and the subfolders */
	F_MAILDIR, /* a Maildir: messages in cur/ and new/ */
	F_PLAIN,   /* a plain directory with Maildirs below it */
	F_EML,     /* a directory of .eml files and subdirectories */
} ftype;

typedef struct {
	mapper_crypto *crypto;
	const char *source; /* SOURCE as given, for messages on stderr */
	bool list_only;     /* --list-folders */
	char **want;        /* FOLDER arguments ("" for the root), or none */
	int nwant;
	bool *found;        /* which of them the walk met */
	bool failed;        /* a message or folder could not be read (status 3) */
	bool write_failed;  /* stdout cannot be written (status 1; stop) */
} walk;

/* A folder being walked: its directory, kind, path in the mount ("" for
 * the root) and path relative to SOURCE ("" for SOURCE itself). */
typedef struct {
	int fd;
	ftype type;
	const char *path;
	const char *src;
} folder;

/* A message being exported. */
typedef struct {
	const char *folder;
	const char *name;
	const char *source; /* relative to SOURCE: user.mapifs.source of the mount */
	const char *flags;
	bool in_new;
} msgref;

/* ---- small helpers ----------------------------------------------------------- */

/* "dir/name", or "name" at the top (mapper paths and source paths alike). */
static char *join(const char *dir, const char *name)
{
	return *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
}

static bool printable(const void *data, size_t len)
{
	return g_utf8_validate(data, (gssize)len, NULL) && !memchr(data, '\0', len);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!g_ascii_isdigit(*s))
			return false;
	return true;
}

/* The folder path as the records and --list-folders print it: the root of
 * a tree of .eml files is ".", which xargs passes on (an empty line it
 * would drop). */
static const char *shown_path(const char *path)
{
	return *path ? path : ".";
}

/* Set string member @key to @value, which comes from file names and so may
 * be any bytes: JSON text must be UTF-8, so other bytes are shown as
 * U+FFFD and the exact bytes given in base64 as @key + "_base64". */
static void set_path_member(JsonObject *o, const char *key, const char *value)
{
	if (g_utf8_validate(value, -1, NULL)) {
		json_object_set_string_member(o, key, value);
		return;
	}
	char *valid = g_utf8_make_valid(value, -1);
	char *b64 = g_base64_encode((const guchar *)value, strlen(value));
	char *bkey = g_strconcat(key, "_base64", NULL);
	json_object_set_string_member(o, key, valid);
	json_object_set_string_member(o, bkey, b64);
	g_free(bkey);
	g_free(b64);
	g_free(valid);
}

static void note(walk *w, const char *rel, const char *what)
{
	fprintf(stderr, "mapper-tool: %s/%s: %s\n", w->source, rel, what);
}

/* ---- opening below SOURCE without following symlinks ---------------------- */

/* openat() read-only without following a symlink in @name, and without
 * touching atimes where the kernel allows it (design.md 6, as
 * fs/source.c's open_noatime). */
static int open_at(int dfd, const char *name, int flags)
{
	flags |= O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dfd, name, flags | O_NOATIME);
	/* O_NOATIME needs ownership or CAP_FOWNER */
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, flags);
	return fd;
}

/* A stream over the entries of directory @dfd, which stays open. */
static DIR *listing(int dfd)
{
	int fd = open_at(dfd, ".", O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* The entry's file type, without following a symlink (store.c entry_type). */
static unsigned char entry_type(int dfd, const struct dirent *e)
{
	if (e->d_type != DT_UNKNOWN)
		return e->d_type;
	struct stat st;
	if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return DT_UNKNOWN;
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK
	                                                                                      : DT_UNKNOWN;
}

/* ---- which directories are folders (fs/store.c) ----------------------------- */

/* maildir(5), store.c is_maildir: a real directory cur/ or new/ in @dfd. */
static bool is_maildir_fd(int dfd)
{
	static const char *const subs[] = { "cur", "new" };
	for (int i = 0; i < 2; i++) {
		struct stat st;
		if (fstatat(dfd, subs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			return true;
	}
	return false;
}

static bool is_maildir_at(int dfd, const char *name)
{
	int fd = open_at(dfd, name, O_DIRECTORY);
	if (fd < 0)
		return false;
	bool yes = is_maildir_fd(fd);
	close(fd);
	return yes;
}

static bool is_maildir_part(const char *name)
{
	return !strcmp(name, "cur") || !strcmp(name, "new") || !strcmp(name, "tmp");
}

/* store.c search_below (without @eml): whether a Maildir lies below plain
 * directory @dfd within @depth levels and *@budget entries.  The budget
 * counts entries in readdir order, as the daemon's does, so both give the
 * same answer for the same directory. */
static bool search_below(int dfd, int depth, size_t *budget)
{
	DIR *d = depth > 0 ? listing(dfd) : NULL;
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && *budget && (e = readdir(d))) {
		(*budget)--;
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (n[0] == '.' || is_maildir_part(n) || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		int fd = open_at(dirfd(d), n, O_DIRECTORY);
		if (fd < 0)
			continue;
		found = is_maildir_fd(fd) || search_below(fd, depth - 1, budget);
		close(fd);
	}
	closedir(d);
	return found;
}

/* store.c add_maildir_subdir: 'M' for a Maildir, 'H' for a directory that
 * holds Maildirs (unless @maildir_only), 0 for anything else. */
static char subdir_kind(int dfd, const char *name, bool maildir_only)
{
	if (is_maildir_at(dfd, name))
		return 'M';
	if (maildir_only)
		return 0;
	int fd = open_at(dfd, name, O_DIRECTORY);
	if (fd < 0)
		return 0;
	size_t budget = MAILDIR_SEARCH_ENTRIES;
	bool holds = search_below(fd, MAILDIR_SEARCH_DEPTH, &budget);
	close(fd);
	return holds ? 'H' : 0;
}

/* store.c maildir_name_len: the message name is the file name up to ":2,"
 * without Dovecot's trailing ",S=<size>" and ",W=<size>" fields. */
static size_t maildir_name_len(const char *file)
{
	const char *info = strstr(file, ":2,");
	size_t n = info ? (size_t)(info - file) : strlen(file);
	for (;;) {
		size_t d = n;
		while (d > 0 && g_ascii_isdigit(file[d - 1]))
			d--;
		if (d == n || d < 4 || file[d - 1] != '=' || (file[d - 2] != 'S' && file[d - 2] != 'W') ||
		    file[d - 3] != ',' || d - 3 == 0)
			return n;
		n = d - 3;
	}
}

/* store.c store_eml_stem: "x.eml" (any case) is message "x". */
static char *eml_stem(const char *file)
{
	size_t n = strlen(file);
	return n > 4 && g_ascii_strcasecmp(file + n - 4, ".eml") == 0 ? g_strndup(file, n - 4) : NULL;
}

/* Whether the .eml folder @dfd has a message @name, that is a regular
 * file "name.eml" with ".eml" in any case: then the mount shows the
 * message, not a subfolder of that name (store.c subfolders_found).
 * Asked only for subdirectories, so the listing need not be kept. */
static bool eml_message_exists(int dfd, const char *name)
{
	for (unsigned mask = 0; mask < 8; mask++) {
		char ext[5] = ".eml";
		for (int i = 0; i < 3; i++)
			if (mask & (1u << i))
				ext[i + 1] = g_ascii_toupper(ext[i + 1]);
		char *file = g_strconcat(name, ext, NULL);
		struct stat st;
		bool yes = fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
		g_free(file);
		if (yes)
			return true;
	}
	return false;
}

/* ---- property values ------------------------------------------------------------ */

static bool integer_type(const char *type)
{
	return !strcmp(type, "PtypInteger16") || !strcmp(type, "PtypInteger32") ||
	       !strcmp(type, "PtypInteger64");
}

/* The integer of file text @d when it is exactly "<decimal>\n", the form
 * design.md 3 gives them, so that the number turns back into the text. */
static bool integer_text(const char *d, size_t len, gint64 *v)
{
	if (len < 2 || len > 22 || d[len - 1] != '\n')
		return false;
	char buf[24];
	memcpy(buf, d, len - 1);
	buf[len - 1] = '\0';
	char *end;
	errno = 0;
	*v = g_ascii_strtoll(buf, &end, 10);
	char back[24];
	g_snprintf(back, sizeof back, "%" G_GINT64_FORMAT, *v);
	return !errno && !*end && strcmp(back, buf) == 0;
}

/*
 * Put the file text @d of a property of type @type into @o as "value"
 * (mapper-tool(1) has the rules): integers as numbers and booleans as
 * true/false when the text is their usual form; other UTF-8 text without
 * NUL as a string without one final newline ("newline": false when the
 * text had none); anything else in base64 ("encoding": "base64").  Each
 * turns back into the file's bytes exactly.
 */
static void set_value(JsonObject *o, const char *type, const char *d, size_t len)
{
	gint64 v;
	if (integer_type(type) && integer_text(d, len, &v)) {
		json_object_set_int_member(o, "value", v);
	} else if (!strcmp(type, "PtypBoolean") && len == 5 && !memcmp(d, "true\n", 5)) {
		json_object_set_boolean_member(o, "value", TRUE);
	} else if (!strcmp(type, "PtypBoolean") && len == 6 && !memcmp(d, "false\n", 6)) {
		json_object_set_boolean_member(o, "value", FALSE);
	} else if (printable(d, len)) {
		bool nl = len && d[len - 1] == '\n';
		char *text = g_strndup(d, len - nl);
		json_object_set_string_member(o, "value", text);
		g_free(text);
		if (!nl)
			json_object_set_boolean_member(o, "newline", FALSE);
	} else {
		char *b64 = g_base64_encode((const guchar *)d, len);
		json_object_set_string_member(o, "value", b64);
		json_object_set_string_member(o, "encoding", "base64");
		g_free(b64);
	}
}

/* The record of property file @path: tag and type as the xattrs
 * user.mapi.tag/.type/.guid give them, and its value.  An attachment's
 * data is given by its size only (its row has the hashes): it may be
 * bigger than memory. */
static JsonObject *property_json(mapper_message *m, const char *path, const char *name,
                                 const mapper_node *node)
{
	JsonObject *o = json_object_new();
	char tag[16];
	g_snprintf(tag, sizeof tag, "0x%08X", node->tag);
	json_object_set_string_member(o, "tag", tag);
	json_object_set_string_member(o, "type", node->type_name);
	if (node->set_guid)
		json_object_set_string_member(o, "set", node->set_guid);
	const void *d;
	size_t len;
	if (!strcmp(name, "PidTagAttachDataBinary") || mapper_message_read(m, path, &d, &len) != MAPPER_OK)
		json_object_set_int_member(o, "size", (gint64)node->size);
	else
		set_value(o, node->type_name, d, len);
	return o;
}

/* Whether directory @path is a named-property set (PS_INTERNET_HEADERS,
 * PSETID_Appointment ...): it holds property files, where smime/ and
 * received/ hold plain ones.  A set is listed only when it has some. */
static bool is_property_set(mapper_message *m, const char *path, char ***names, size_t *n)
{
	if (mapper_message_list(m, path, names, n) != MAPPER_OK)
		return false;
	char *first = *n ? join(path, (*names)[0]) : NULL;
	mapper_node c;
	bool yes = first && mapper_message_stat(m, first, &c) == MAPPER_OK && c.kind == MAPPER_NODE_FILE &&
	           c.type_name;
	g_free(first);
	if (!yes)
		mapper_names_free(*names);
	return yes;
}

/* Add the property file, or the properties of the named-property set
 * directory, @name of bag @dir to @props: "PidTagSubject", and
 * "PS_INTERNET_HEADERS/X-Mailer" for a named one.  False when @name is
 * neither (a row table, smime/, received/, an embedded message, info ...). */
static bool add_bag_entry(mapper_message *m, const char *dir, const char *name, JsonObject *props)
{
	char *path = join(dir, name);
	mapper_node node;
	bool done = false;
	char **names;
	size_t n;
	if (mapper_message_stat(m, path, &node) != MAPPER_OK) {
		/* nothing to add */
	} else if (node.kind == MAPPER_NODE_FILE && node.type_name) {
		json_object_set_object_member(props, name, property_json(m, path, name, &node));
		done = true;
	} else if (node.kind == MAPPER_NODE_DIR && !node.is_message && is_property_set(m, path, &names, &n)) {
		for (size_t i = 0; i < n; i++) {
			char *p = join(path, names[i]);
			mapper_node c;
			if (mapper_message_stat(m, p, &c) == MAPPER_OK && c.kind == MAPPER_NODE_FILE && c.type_name) {
				char *key = join(name, names[i]);
				json_object_set_object_member(props, key, property_json(m, p, names[i], &c));
				g_free(key);
			}
			g_free(p);
		}
		mapper_names_free(names);
		done = true;
	}
	g_free(path);
	return done;
}

/* The properties of the bag (a row) at @dir, all of its entries. */
static JsonObject *bag_json(mapper_message *m, const char *dir)
{
	JsonObject *props = json_object_new();
	char **names;
	size_t n;
	if (mapper_message_list(m, dir, &names, &n) == MAPPER_OK) {
		for (size_t i = 0; i < n; i++)
			add_bag_entry(m, dir, names[i], props);
		mapper_names_free(names);
	}
	return props;
}

/* The text of file @path without one final newline, or NULL. */
static char *file_line(mapper_message *m, const char *path)
{
	const void *d;
	size_t len;
	if (mapper_message_read(m, path, &d, &len) != MAPPER_OK || !printable(d, len))
		return NULL;
	return g_strndup(d, len && ((const char *)d)[len - 1] == '\n' ? len - 1 : len);
}

/* ---- hashes ------------------------------------------------------------------ */

typedef struct {
	GChecksum *md5, *sha1, *sha256;
} digests;

static void digests_init(digests *h)
{
	h->md5 = g_checksum_new(G_CHECKSUM_MD5);
	h->sha1 = g_checksum_new(G_CHECKSUM_SHA1);
	h->sha256 = g_checksum_new(G_CHECKSUM_SHA256);
}

static void digests_update(digests *h, const void *d, size_t len)
{
	g_checksum_update(h->md5, d, (gssize)len);
	g_checksum_update(h->sha1, d, (gssize)len);
	g_checksum_update(h->sha256, d, (gssize)len);
}

/* Set "md5", "sha1", "sha256" (lower-case hex, as md5sum and the mount's
 * hashes files give them); digests_free() frees @h. */
static void digests_set(digests *h, JsonObject *o)
{
	json_object_set_string_member(o, "md5", g_checksum_get_string(h->md5));
	json_object_set_string_member(o, "sha1", g_checksum_get_string(h->sha1));
	json_object_set_string_member(o, "sha256", g_checksum_get_string(h->sha256));
}

static void digests_free(digests *h)
{
	g_checksum_free(h->md5);
	g_checksum_free(h->sha1);
	g_checksum_free(h->sha256);
}

/* Hash the file @path of @m, reading it in pieces from @fd (the message
 * file) when it stayed there, as fs/ops.c row_digests does; set the
 * hashes in @o, or "error" when the file no longer holds the data. */
static void hash_data(mapper_message *m, const char *path, int fd, JsonObject *o)
{
	digests h;
	digests_init(&h);
	const void *d;
	size_t len;
	mapper_status s = mapper_message_read(m, path, &d, &len);
	ssize_t got = 0;
	if (s == MAPPER_OK) {
		digests_update(&h, d, len);
	} else if (s == MAPPER_DEFERRED) {
		mapper_deferred *def;
		if (mapper_message_deferred(m, path, &def) == MAPPER_OK) {
			char *buf = g_malloc(PIECE);
			for (uint64_t off = 0; (got = mapper_deferred_pread(def, fd, buf, PIECE, off)) > 0;
			     off += (uint64_t)got)
				digests_update(&h, buf, (size_t)got);
			g_free(buf);
			mapper_deferred_unref(def);
		}
	}
	if (got < 0)
		json_object_set_string_member(o, "error", g_strerror((int)-got));
	else if (s == MAPPER_OK || s == MAPPER_DEFERRED)
		digests_set(&h, o);
	digests_free(&h);
}

/* ---- the object ----------------------------------------------------------------- */

static void message_fill(mapper_message *m, const char *base, int fd, JsonObject *o);

/* The message object at @base ("" for the message itself) as a new object. */
static JsonObject *message_json(mapper_message *m, const char *base, int fd)
{
	JsonObject *o = json_object_new();
	message_fill(m, base, fd, o);
	return o;
}

/* The recipient rows of the message at @base. */
static JsonArray *recipients_json(mapper_message *m, const char *base)
{
	JsonArray *a = json_array_new();
	for (unsigned i = 0;; i++) {
		char *row = g_strdup_printf("%s%srecipients/%u", base, *base ? "/" : "", i);
		mapper_node node;
		bool there = mapper_message_stat(m, row, &node) == MAPPER_OK;
		if (there) {
			JsonObject *o = json_object_new();
			json_object_set_int_member(o, "row", i);
			json_object_set_object_member(o, "properties", bag_json(m, row));
			json_array_add_object_element(a, o);
		}
		g_free(row);
		if (!there)
			break;
	}
	return a;
}

/* Attachment row @row (".../attachments/N"): its file name in
 * attachments/, size, media type and hashes of its data, properties, and
 * an embedded message as a message object. */
static JsonObject *attachment_json(mapper_message *m, const char *row, unsigned i, int fd)
{
	JsonObject *o = json_object_new();
	json_object_set_int_member(o, "row", i);
	char *data = join(row, "PidTagAttachDataBinary");
	mapper_node node;
	if (mapper_message_stat(m, data, &node) == MAPPER_OK) {
		const char *name = mapper_message_attachment_name(m, row);
		if (name)
			set_path_member(o, "name", name);
		json_object_set_int_member(o, "size", (gint64)node.size);
		char *tag = join(row, "PidTagAttachMimeTag");
		char *type = file_line(m, tag);
		if (type)
			json_object_set_string_member(o, "media_type", type);
		g_free(type);
		g_free(tag);
		hash_data(m, data, fd, o);
	}
	g_free(data);
	json_object_set_object_member(o, "properties", bag_json(m, row));
	char *inner = join(row, "PidTagAttachDataObject");
	if (mapper_message_stat(m, inner, &node) == MAPPER_OK && node.is_message)
		json_object_set_object_member(o, "message", message_json(m, inner, fd));
	g_free(inner);
	return o;
}

static JsonArray *attachments_json(mapper_message *m, const char *base, int fd)
{
	JsonArray *a = json_array_new();
	char *dir = join(base, "attachments");
	for (unsigned i = 0;; i++) {
		char *row = g_strdup_printf("%s/%u", dir, i);
		mapper_node node;
		bool there = mapper_message_stat(m, row, &node) == MAPPER_OK;
		if (there)
			json_array_add_object_element(a, attachment_json(m, row, i, fd));
		g_free(row);
		if (!there)
			break;
	}
	g_free(dir);
	return a;
}

/* A folder of plain files at @path (smime/, received/): its files as
 * strings without their final newline, folders of rows (signers/0, 1 ...)
 * as arrays, a message inside (smime/content) as a message object. */
static JsonNode *tree_json(mapper_message *m, const char *path, int fd)
{
	char **names;
	size_t n;
	if (mapper_message_list(m, path, &names, &n) != MAPPER_OK)
		return json_node_init_null(json_node_alloc());
	bool rows = n > 0;
	for (size_t i = 0; i < n; i++)
		rows = rows && all_digits(names[i]);
	JsonObject *o = rows ? NULL : json_object_new();
	JsonArray *a = rows ? json_array_new() : NULL;
	for (size_t i = 0; i < n; i++) {
		/* rows in number order: the listing is in strcmp order */
		char *name = rows ? g_strdup_printf("%zu", i) : g_strdup(names[i]);
		char *p = join(path, name);
		mapper_node node;
		JsonNode *v = NULL;
		if (mapper_message_stat(m, p, &node) != MAPPER_OK) {
			v = json_node_init_null(json_node_alloc());
		} else if (node.kind == MAPPER_NODE_DIR && node.is_message) {
			v = json_node_init_object(json_node_alloc(), message_json(m, p, fd));
			json_object_unref(json_node_get_object(v));
		} else if (node.kind == MAPPER_NODE_DIR) {
			v = tree_json(m, p, fd);
		} else {
			JsonObject *b64 = json_object_new();
			char *line = file_line(m, p);
			const void *d;
			size_t len;
			if (line)
				v = json_node_init_string(json_node_alloc(), line);
			else if (mapper_message_read(m, p, &d, &len) == MAPPER_OK)
				set_value(b64, "", d, len);
			if (!v)
				v = json_node_init_object(json_node_alloc(), b64);
			json_object_unref(b64);
			g_free(line);
		}
		if (rows)
			json_array_add_element(a, v);
		else
			json_object_set_member(o, name, v);
		g_free(p);
		g_free(name);
	}
	mapper_names_free(names);
	JsonNode *node = rows ? json_node_init_array(json_node_alloc(), a) : json_node_init_object(json_node_alloc(), o);
	if (rows)
		json_array_unref(a);
	else
		json_object_unref(o);
	return node;
}

/* Add the message object at @base to @o: class, properties, recipients,
 * attachments, then its other folders (smime/, received/) by name. */
static void message_fill(mapper_message *m, const char *base, int fd, JsonObject *o)
{
	JsonObject *props = json_object_new();
	JsonObject *trees = json_object_new();
	char **names;
	size_t n;
	if (mapper_message_list(m, base, &names, &n) == MAPPER_OK) {
		for (size_t i = 0; i < n; i++) {
			/* info, body.rtf and an embedded message.eml are made from
			 * what the record has (mapper-tool(1)) */
			const char *e = names[i];
			char *p = join(base, e);
			mapper_node node;
			if (!strcmp(e, "recipients") || !strcmp(e, "attachments") || add_bag_entry(m, base, e, props)) {
				/* done here or below */
			} else if (mapper_message_stat(m, p, &node) == MAPPER_OK && node.kind == MAPPER_NODE_DIR &&
			           !node.is_message) {
				json_object_set_member(trees, e, tree_json(m, p, fd));
			}
			g_free(p);
		}
		mapper_names_free(names);
	}
	char *cp = join(base, "PidTagMessageClass");
	char *cls = file_line(m, cp);
	json_object_set_string_member(o, "class", cls ? cls : mapper_message_class(m));
	g_free(cls);
	g_free(cp);
	json_object_set_object_member(o, "properties", props);
	json_object_set_array_member(o, "recipients", recipients_json(m, base));
	json_object_set_array_member(o, "attachments", attachments_json(m, base, fd));
	GList *keys = json_object_get_members(trees);
	for (GList *k = keys; k; k = k->next)
		json_object_set_member(o, k->data, json_object_dup_member(trees, k->data));
	g_list_free(keys);
	json_object_unref(trees);
}

/* ---- records --------------------------------------------------------------------- */

/* Write @len bytes of @text, a whole line, to stdout with one write(2)
 * where the kernel takes it so: processes that share an output file
 * (xargs -P) then never interleave within a line. */
static void write_line(walk *w, const char *text, size_t len)
{
	while (len && !w->write_failed) {
		ssize_t n = write(STDOUT_FILENO, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "mapper-tool: writing stdout: %s\n", g_strerror(errno));
			w->write_failed = true;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
}

/* Write @o as one line and drop it. */
static void emit(walk *w, JsonObject *o)
{
	JsonNode *root = json_node_init_object(json_node_alloc(), o);
	json_object_unref(o);
	/* a generator a record: it holds a copy of its root until the next one */
	JsonGenerator *gen = json_generator_new();
	json_generator_set_root(gen, root);
	GString *line = g_string_new(NULL);
	json_generator_to_gstring(gen, line);
	g_string_append_c(line, '\n');
	write_line(w, line->str, line->len);
	g_string_free(line, TRUE);
	g_object_unref(gen);
	json_node_unref(root);
}

/* The fields every record of a message starts with. */
static JsonObject *record_head(const msgref *r)
{
	JsonObject *o = json_object_new();
	set_path_member(o, "folder", shown_path(r->folder));
	set_path_member(o, "name", r->name);
	set_path_member(o, "source", r->source);
	return o;
}

/* A record saying that message @r (or, without a name, a folder) could
 * not be read, and a line on stderr: the export goes on. */
static void emit_error(walk *w, const msgref *r, const char *why)
{
	JsonObject *o = json_object_new();
	set_path_member(o, "folder", shown_path(r->folder));
	if (r->name)
		set_path_member(o, "name", r->name);
	set_path_member(o, "source", r->source);
	json_object_set_string_member(o, "error", why);
	note(w, r->source, why);
	w->failed = true;
	emit(w, o);
}

/* Read all of @fd (a regular file of about @size bytes) into memory. */
static char *read_all(int fd, off_t size, size_t *len, int *err)
{
	size_t cap = (size_t)size + 1, n = 0;
	char *buf = g_malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = g_realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			g_free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

/* Hash all of file @fd in pieces, as the mount's message hashes are. */
static int hash_file(int fd, digests *h)
{
	char *buf = g_malloc(PIECE);
	int err = 0;
	for (off_t off = 0;;) {
		ssize_t r = pread(fd, buf, PIECE, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : 0;
			break;
		}
		digests_update(h, buf, (size_t)r);
		off += r;
	}
	g_free(buf);
	return err;
}

/* Load the message in @fd as the daemon's cache does (fs/cache.c load):
 * small files from memory, big ones from the file with their large
 * attachments left there.  Hashes the file's bytes into @h on the way. */
static mapper_message *load(int fd, const struct stat *st, const mapper_source *src, digests *h,
                            int *err)
{
	if (st->st_size >= FILE_LOAD_MIN) {
		*err = hash_file(fd, h);
		if (*err)
			return NULL;
		errno = 0;
		mapper_message *m = mapper_message_load_file(fd, src, DEFER_MIN);
		if (!m)
			*err = errno ? errno : ENOMEM;
		return m;
	}
	size_t len = 0;
	char *data = read_all(fd, st->st_size, &len, err);
	if (!data)
		return NULL;
	digests_update(h, data, len);
	mapper_message *m = mapper_message_load(data, len, src, MAPPER_LOAD_FULL);
	g_free(data);
	if (!m)
		*err = ENOMEM;
	return m;
}

/* One message, the file open at @fd (or -1, errno set): one record. */
static void export_message_fd(walk *w, int fd, const msgref *r)
{
	struct stat st;
	int err = 0;
	if (fd < 0 || fstat(fd, &st) != 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EIO;
	digests h;
	digests_init(&h);
	mapper_source src = { .maildir_flags = r->flags, .maildir_new = r->in_new };
	mapper_message *m = NULL;
	if (!err) {
		src.mtime = st.st_mtim.tv_sec;
		m = load(fd, &st, &src, &h, &err);
	}
	if (!m) {
		emit_error(w, r, g_strerror(err));
	} else {
		mapper_message_set_crypto(m, w->crypto);
		JsonObject *o = record_head(r);
		json_object_set_string_member(o, "flags", r->flags);
		json_object_set_int_member(o, "size", (gint64)st.st_size);
		char when[21];
		mapper_format_time(st.st_mtim.tv_sec, when);
		json_object_set_string_member(o, "mtime", when);
		digests_set(&h, o);
		if (mapper_message_warning(m)) {
			json_object_set_string_member(o, "warning", mapper_message_warning(m));
			note(w, r->source, mapper_message_warning(m));
		}
		message_fill(m, "", fd, o);
		mapper_message_free(m);
		emit(w, o);
	}
	digests_free(&h);
}

/* One message: file @file of directory @dfd. */
static void export_message(walk *w, int dfd, const char *file, const msgref *r)
{
	int fd = open_at(dfd, file, 0);
	export_message_fd(w, fd, r);
	if (fd >= 0)
		close(fd);
}

/* ---- the walk ------------------------------------------------------------------- */

static bool selected(walk *w, const char *path)
{
	if (!w->nwant)
		return true;
	bool yes = false;
	for (int i = 0; i < w->nwant; i++)
		if (!strcmp(w->want[i], path))
			yes = w->found[i] = true;
	return yes;
}

/* Whether folder @path or one below it was asked for. */
static bool wanted_below(walk *w, const char *path)
{
	if (!w->nwant)
		return true;
	size_t n = strlen(path);
	for (int i = 0; i < w->nwant; i++)
		if (!strcmp(w->want[i], path) || (strncmp(w->want[i], path, n) == 0 && w->want[i][n] == '/'))
			return true;
	return false;
}

/* Whether to export the messages of folder @f; with --list-folders, print
 * its path instead.  Only Maildirs and .eml directories hold messages. */
static bool visit(walk *w, const folder *f)
{
	if (!selected(w, f->path) || (f->type != F_MAILDIR && f->type != F_EML))
		return false;
	if (w->list_only) {
		char *line = g_strconcat(shown_path(f->path), "\n", NULL);
		write_line(w, line, strlen(line));
		g_free(line);
		return false;
	}
	return true;
}

/* The messages of Maildir @f's cur/ or new/ (@sub), in directory order
 * (store.c scan_maildir_entry). */
static void export_maildir_sub(walk *w, const folder *f, const char *sub)
{
	char *rel = join(f->src, sub);
	msgref r = { .folder = f->path, .source = rel };
	int dfd = open_at(f->fd, sub, O_DIRECTORY);
	DIR *d = dfd >= 0 ? listing(dfd) : NULL;
	if (!d && errno == ELOOP) {
		note(w, rel, "a symbolic link, not followed");
	} else if (!d && errno != ENOENT && errno != ENOTDIR) {
		/* a Maildir may lack one of cur/ and new/, as store.c scan allows */
		emit_error(w, &r, g_strerror(errno));
	}
	struct dirent *e;
	while (d && !w->write_failed && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		size_t name_len = maildir_name_len(e->d_name);
		unsigned char t = entry_type(dfd, e);
		char *src = join(rel, e->d_name);
		if (t == DT_LNK)
			note(w, src, "a symbolic link, not followed");
		if (t == DT_REG && name_len) {
			const char *info = strstr(e->d_name, ":2,");
			char *name = g_strndup(e->d_name, name_len);
			msgref m = { .folder = f->path, .name = name, .source = src,
			             .flags = info ? info + 3 : "", .in_new = !strcmp(sub, "new") };
			export_message(w, dfd, e->d_name, &m);
			g_free(name);
		}
		g_free(src);
	}
	if (d)
		closedir(d);
	if (dfd >= 0)
		close(dfd);
	g_free(rel);
}

/* Read folder @f's directory: its subfolders into @subs ("M", "H" or "E"
 * and the directory name, as store.c's scan_*_entry collect them) and, in
 * a tree of .eml files, export its messages when @export. */
static void read_folder_dir(walk *w, const folder *f, GPtrArray *subs, bool export)
{
	DIR *d = listing(f->fd);
	if (!d) {
		msgref r = { .folder = f->path, .source = *f->src ? f->src : "." };
		emit_error(w, &r, g_strerror(errno));
		return;
	}
	struct dirent *e;
	while (!w->write_failed && (e = readdir(d))) {
		const char *n = e->d_name;
		bool root = f->type == F_ROOT;
		/* Maildir++ subfolders are ".Name" beside cur/ new/ tmp/ at the root */
		if (!strcmp(n, ".") || !strcmp(n, "..") || (n[0] == '.' && !root) ||
		    (f->type != F_EML && is_maildir_part(n)))
			continue;
		unsigned char t = entry_type(f->fd, e);
		char *src = join(f->src, n);
		char kind = 0;
		if (t == DT_LNK)
			note(w, src, "a symbolic link, not followed");
		else if (t == DT_DIR && f->type == F_EML)
			kind = is_maildir_at(f->fd, n) ? 'M' : 'E';
		else if (t == DT_DIR)
			kind = subdir_kind(f->fd, n, root && n[0] == '.');
		if (kind)
			g_ptr_array_add(subs, g_strdup_printf("%c%s", kind, n));
		char *stem = t == DT_REG && f->type == F_EML && export ? eml_stem(n) : NULL;
		if (stem) {
			msgref m = { .folder = f->path, .name = stem, .source = src, .flags = "" };
			export_message(w, f->fd, n, &m);
			g_free(stem);
		}
		g_free(src);
	}
	closedir(d);
}

static gint subdir_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a + 1, *(const char *const *)b + 1);
}

static void walk_folder(walk *w, const folder *f);

/* Walk the subfolders @subs of @f, named as store.c subfolders_found
 * names them: sorted by directory name, ".Name" at a Maildir root shown as
 * "Name", the first of two that show one name kept, "INBOX" the root
 * Maildir itself, and a subdirectory "x" of a tree of .eml files hidden
 * by a message "x.eml". */
static void walk_subfolders(walk *w, const folder *f, GPtrArray *subs)
{
	g_ptr_array_sort(subs, subdir_cmp);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	if (f->type == F_ROOT) {
		g_hash_table_add(seen, (gpointer) "INBOX");
		folder inbox = { .fd = f->fd, .type = F_MAILDIR, .path = "INBOX", .src = "" };
		if (wanted_below(w, inbox.path))
			walk_folder(w, &inbox);
	}
	for (guint i = 0; i < subs->len && !w->write_failed; i++) {
		const char *entry = subs->pdata[i];
		char kind = entry[0];
		const char *dir = entry + 1;
		const char *name = f->type == F_ROOT && dir[0] == '.' ? dir + 1 : dir;
		if (!*name || g_hash_table_contains(seen, name) || (kind == 'E' && eml_message_exists(f->fd, name)))
			continue;
		g_hash_table_add(seen, (gpointer)name);
		char *path = join(f->path, name);
		if (wanted_below(w, path)) {
			char *src = join(f->src, dir);
			folder sub = { .fd = open_at(f->fd, dir, O_DIRECTORY), .path = path, .src = src,
			               .type = kind == 'E' ? F_EML : kind == 'H' ? F_PLAIN : F_MAILDIR };
			if (sub.fd >= 0) {
				walk_folder(w, &sub);
				close(sub.fd);
			} else {
				msgref r = { .folder = path, .source = src };
				emit_error(w, &r, g_strerror(errno));
			}
			g_free(src);
		}
		g_free(path);
	}
	g_hash_table_unref(seen);
}

/* Folder @f: its messages (when asked for), then its subfolders (store.c
 * scan). */
static void walk_folder(walk *w, const folder *f)
{
	GPtrArray *subs = g_ptr_array_new_with_free_func(g_free);
	bool export = visit(w, f);
	if (f->type == F_MAILDIR) {
		if (export) {
			export_maildir_sub(w, f, "cur");
			export_maildir_sub(w, f, "new");
		}
		/* a Maildir in a plain directory may hold more below it (not the
		 * root's INBOX, nor a Maildir++ folder: theirs are at the root) */
		if (f->src[0] && f->src[0] != '.')
			read_folder_dir(w, f, subs, false);
	} else {
		read_folder_dir(w, f, subs, export);
	}
	walk_subfolders(w, f, subs);
	g_ptr_array_unref(subs);
}

/* ---- the command ----------------------------------------------------------------- */

bool mapper_tool_wants_jsonl(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--jsonl"))
			return true;
	return false;
}

/* SOURCE is one file, open at @fd: its record, in folder "." under its
 * own name. */
static void export_one_file(walk *w, const char *path, int fd)
{
	char *base = g_path_get_basename(path);
	char *stem = eml_stem(base);
	msgref r = { .folder = "", .name = stem ? stem : base, .source = base, .flags = "" };
	export_message_fd(w, fd, &r);
	g_free(stem);
	g_free(base);
}

/* Walk SOURCE @path (a directory, or one message file) into @w; 1 when it
 * cannot be read. */
static int export_source(walk *w, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "mapper-tool: %s: %s\n", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	int rc = 0;
	if (S_ISDIR(st.st_mode)) {
		/* store.c mount_open_source: a Maildir has cur/ or new/ */
		folder root = { .fd = fd, .type = is_maildir_fd(fd) ? F_ROOT : F_EML, .path = "", .src = "" };
		walk_folder(w, &root);
	} else if (S_ISREG(st.st_mode) && !w->nwant) {
		if (w->list_only)
			write_line(w, ".\n", 2);
		else
			export_one_file(w, path, fd);
	} else {
		fprintf(stderr, "mapper-tool: %s: %s\n", path,
		        S_ISREG(st.st_mode) ? "a single message has no folders" : "not a directory or a message file");
		rc = 1;
	}
	close(fd);
	return rc;
}

/* The options before SOURCE; the index of SOURCE, or -1 for a usage error. */
static int parse_options(int argc, char **argv, mapper_crypto_options *opts, bool *list_only)
{
	int i = 2;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		char *why = NULL;
		int taken = mapper_crypto_options_take(opts, argc, argv, &i, &why);
		if (taken > 0)
			continue;
		if (taken == 0 && !strcmp(argv[i], "--jsonl"))
			continue;
		if (taken == 0 && !strcmp(argv[i], "--list-folders")) {
			*list_only = true;
			continue;
		}
		if (why)
			fprintf(stderr, "mapper-tool: %s\n", why);
		free(why);
		return -1;
	}
	return i < argc ? i : -1;
}

int mapper_tool_export_jsonl(int argc, char **argv)
{
	walk w = { 0 };
	mapper_crypto_options *opts = mapper_crypto_options_new();
	int at = parse_options(argc, argv, opts, &w.list_only);
	if (at < 0) {
		mapper_crypto_options_free(opts);
		return -1;
	}
	w.source = argv[at];
	w.nwant = argc - at - 1;
	w.want = g_new0(char *, w.nwant + 1);
	w.found = g_new0(bool, w.nwant + 1);
	for (int i = 0; i < w.nwant; i++) {
		/* "." (as --list-folders prints it) is the root; "a/b/" is "a/b" */
		char *f = g_strdup(argv[at + 1 + i]);
		while (*f && f[strlen(f) - 1] == '/')
			f[strlen(f) - 1] = '\0';
		w.want[i] = strcmp(f, ".") ? f : (g_free(f), g_strdup(""));
	}

	mapper_init();
	w.crypto = mapper_crypto_new();
	char *why = NULL;
	mapper_status cst = mapper_crypto_options_apply(opts, w.crypto, &why);
	mapper_crypto_options_free(opts);
	int rc = 1;
	if (cst != MAPPER_OK) {
		fprintf(stderr, "mapper-tool: %s\n", why ? why : mapper_status_to_string(cst));
		free(why);
	} else {
		rc = export_source(&w, w.source);
		for (int i = 0; i < w.nwant && !rc; i++) {
			if (!w.found[i]) {
				fprintf(stderr, "mapper-tool: %s: no folder %s\n", w.source, shown_path(w.want[i]));
				rc = 1;
			}
		}
		rc = rc ? rc : w.write_failed ? 1 : w.failed ? 3 : 0;
	}
	mapper_crypto_free(w.crypto);
	mapper_shutdown();
	g_strfreev(w.want);
	g_free(w.found);
	return rc;
}
