/* A QR code of a short text (an otpauth URI) drawn on a terminal with
 * Unicode half blocks, for stepupctl enroll. */
#ifndef SU_QR_H
#define SU_QR_H

#include <stdio.h>

/* Encode text (byte mode, error correction level L) and draw it on out, two
 * module rows per line, light modules as "█" with a 4-module quiet zone, so
 * the code reads black on white on a dark terminal. 0, or -1 if the text
 * cannot be encoded or out cannot be written. The encoded modules are wiped
 * before they are freed: the text may hold a secret. */
int su_qr_print(FILE *out, const char *text);

#endif
