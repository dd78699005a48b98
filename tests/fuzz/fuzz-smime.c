/*
 * fuzz-smime.c - S/MIME evaluation with keys (issue 9, fuzzing point c):
 * one mapper_crypto for the whole run, as the daemon has, with test CAs and
 * identities; every input is loaded fully, evaluated
 * (mapper_message_smime_evaluate) and its smime/ tree walked; the
 * certificate map is read as certificates/ does.  A plain message is
 * sealed (signed, or signed and encrypted when every recipient has a
 * certificate) and the sealed message evaluated again: a signature made
 * with a local identity must verify.
 *
 * The keys: MAPIFS_FUZZ_PKI is a ':'-separated list of directories, each
 * with ca.pem and any of bob, alice, carol (.key + .pem), as
 * scripts/make-sample-mailbox.sh and tests/bats/crypto_fixtures.bash make
 * them; scripts/fuzz.sh sets it.  Without it the target still runs, with
 * no anchors and no identity.
 */
#include "fuzz.h"

#include <unistd.h>

static mapper_crypto *crypto;
static bool can_sign;

static void add_pki(const char *dir)
{
	char path[4096], key[4096];
	snprintf(path, sizeof path, "%s/ca.pem", dir);
	if (access(path, R_OK) == 0 && mapper_crypto_add_trust(crypto, path, NULL) == MAPPER_OK)
		fprintf(stderr, "fuzz-smime: trust %s\n", path);
	static const char *const who[] = { "alice", "bob", "carol" };
	for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
		snprintf(key, sizeof key, "%s/%s.key", dir, who[i]);
		snprintf(path, sizeof path, "%s/%s.pem", dir, who[i]);
		if (access(key, R_OK) != 0 || access(path, R_OK) != 0)
			continue;
		char *why = NULL;
		if (mapper_crypto_add_identity(crypto, key, path, &why) == MAPPER_OK) {
			fprintf(stderr, "fuzz-smime: identity %s\n", path);
			can_sign = true;
		} else {
			fprintf(stderr, "fuzz-smime: %s\n", why);
		}
		free(why);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init();
	crypto = mapper_crypto_new();
	const char *list = getenv("MAPIFS_FUZZ_PKI");
	if (list && *list) {
		char *copy = strdup(list), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
			add_pki(d);
		free(copy);
	} else {
		fprintf(stderr, "fuzz-smime: MAPIFS_FUZZ_PKI not set: no anchors, no identities\n");
	}
	return 0;
}

/* What certificates/ does: list the map and read every certificate. */
static void read_map(void)
{
	size_t count = 0;
	char **names = mapper_crypto_map_addresses(crypto, &count);
	for (size_t i = 0; i < count; i++) {
		size_t n = strlen(names[i]);
		if (n <= 4 || strcmp(names[i] + n - 4, ".pem") != 0)
			fuzz_fail("map address '%s' without .pem", names[i]);
		names[i][n - 4] = '\0';
		char *pem = NULL;
		size_t len = 0;
		if (!mapper_crypto_map_copy(crypto, names[i], &pem, &len) || strlen(pem) != len)
			fuzz_fail("map_copy of listed '%s'", names[i]);
		free(pem);
	}
	mapper_names_free(names);
	(void)mapper_crypto_map_generation(crypto);
}

/* Load @len bytes, evaluate and walk smime/; the status, or NULL (caller
 * frees). */
static char *evaluate(const void *data, size_t len)
{
	mapper_message *m = mapper_message_load(data, len, NULL, MAPPER_LOAD_FULL);
	if (!m)
		fuzz_fail("mapper_message_load returned NULL");
	mapper_message_set_crypto(m, crypto);
	mapper_message_smime_evaluate(m);
	fuzz_budget b = fuzz_default_budget();
	mapper_node node;
	char *status = NULL;
	if (mapper_message_stat(m, "smime", &node) == MAPPER_OK) {
		fuzz_walk(m, "smime", false, &b, 1);
		const void *d;
		size_t n;
		if (mapper_message_read(m, "smime/status", &d, &n) != MAPPER_OK)
			fuzz_fail("smime/ without status");
		status = strndup(d, n);
	}
	/* embedded messages have their own smime/ */
	if (mapper_message_stat(m, "attachments", &node) == MAPPER_OK)
		fuzz_walk(m, "attachments", false, &b, 1);
	mapper_message_free(m);
	return status;
}

/* Seal a plain message as writing PR_SECURITY_FLAGS does; a signature must
 * then verify. */
static void seal(const uint8_t *data, size_t size, int flags)
{
	mapper_message *m = mapper_message_load(data, size, NULL, MAPPER_LOAD_FULL);
	mapper_message_set_crypto(m, crypto);
	char value[4];
	snprintf(value, sizeof value, "%d\n", flags);
	char *out = NULL;
	size_t len = 0;
	if (mapper_message_set(m, "0x6E010003", value, strlen(value), NULL) == MAPPER_OK &&
	    mapper_message_export(m, data, size, &out, &len, NULL) == MAPPER_OK) {
		char *status = evaluate(out, len);
		/* signed last (flags 2, or 3 sign-then-encrypt: the outer layer is
		 * the encryption, judged in content/) */
		if (flags == 2 && (!status || strcmp(status, "good\n") != 0))
			fuzz_fail("a message signed with a local identity is '%s'", status ? status : "(no smime/)");
		free(status);
	}
	free(out);
	mapper_message_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *status = evaluate(data, size);
	if (!status && can_sign && size) {
		uint8_t sel = data[size - 1];
		if ((sel & 3) == 1)
			seal(data, size, 2);
		else if ((sel & 3) == 2)
			seal(data, size, 3);
	}
	free(status);
	read_map();
	return 0;
}
