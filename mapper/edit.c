/*
 * edit.c - changing a message object through its files (design.md section 4).
 */
#include <stdlib.h>
#include <string.h>

#include "mapper-private.h"
