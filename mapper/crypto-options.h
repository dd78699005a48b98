/*
 * crypto-options.h - the S/MIME options of the command line, one parser for
 * mapifs and mapper-tool (design.md 5), so the two cannot drift apart.
 *
 *   --key FILE --cert FILE       a local identity (repeatable; paired in order)
 *   --pkcs12 FILE --pass-file F  the same from PKCS #12 (repeatable; paired)
 *   --ca FILE|DIR|system         trust anchors (repeatable)
 *   --certs DIR                  preload the certificate map
 *   --verify-at TIME             verify as of TIME
 *   --digest NAME, --cipher NAME, --seal-order ORDER
 *
 * Each takes its value as the next argument or after "=".  Like ssh, a
 * private key, PKCS #12 file or pass file that group or others can read is
 * refused.  Nothing here prints or exits: errors come back as text.
 */
#ifndef MAPPER_CRYPTO_OPTIONS_H
#define MAPPER_CRYPTO_OPTIONS_H

#include <stdbool.h>

#include "mapper.h"

typedef struct mapper_crypto_options mapper_crypto_options;

mapper_crypto_options *mapper_crypto_options_new(void);
void mapper_crypto_options_free(mapper_crypto_options *o);

/* If @argv[*@i] is a crypto option, take its value (from "--opt=V" or from
 * the next argument, advancing *@i past it) and return 1; 0 if it is not
 * one; -1 when the value is missing, with *@why set (caller frees with
 * free()). */
int mapper_crypto_options_take(mapper_crypto_options *o, int argc, char **argv, int *i,
                               char **why);

/* The same for one entry of a mount option list, as fstab and mount(8)
 * carry it: "ca=FILE", "pass_file=F" (underscores or hyphens), already
 * unescaped.  1 when it is a crypto option (value taken), 0 when not, -1
 * when its value is missing, with *@why set (caller frees with free()). */
int mapper_crypto_options_take_mount_option(mapper_crypto_options *o, const char *opt,
                                            char **why);

/* Check the options and load them into @c: keys, certificates, anchors,
 * settings.  MAPPER_OK, or another status with *@why (caller frees with
 * free()) saying what is wrong, before anything else was done with them. */
mapper_status mapper_crypto_options_apply(const mapper_crypto_options *o, mapper_crypto *c,
                                          char **why);

/* The help text of the options: lines indented by four spaces, each ending
 * in a newline.  Static. */
const char *mapper_crypto_options_help(void);

#endif /* MAPPER_CRYPTO_OPTIONS_H */
