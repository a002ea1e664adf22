/* Draw a QR code with half blocks: each text line shows two module rows, the
 * upper one in the top half of the cell and the lower one in the bottom
 * half. A light module is drawn in the terminal's foreground colour ("█",
 * "▀", "▄") and a dark module is left blank, so on the usual dark terminal
 * the code appears black on white, which is what phone cameras expect. */
#include <stdbool.h>
#include <qrencode.h>
#include "qr.h"
#include "secret.h"

#define QUIET_ZONE 4 /* modules of light border the standard asks for */

/* Cells indexed by (upper light) << 1 | (lower light). */
static const char *const cells[4] = { " ", "\u2584", "\u2580", "\u2588" };

/* Is module (x, y) of the padded code light? Outside the code is quiet zone. */
static bool light(const QRcode *qr, int x, int y)
{
	x -= QUIET_ZONE;
	y -= QUIET_ZONE;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return true;
	return (qr->data[y * qr->width + x] & 1) == 0;
}

static int draw(FILE *out, const QRcode *qr)
{
	int size = qr->width + 2 * QUIET_ZONE;

	for (int y = 0; y < size; y += 2) {
		for (int x = 0; x < size; x++) {
			/* Past the last row the lower half stays blank. */
			bool lower = y + 1 < size && light(qr, x, y + 1);
			int cell = (light(qr, x, y) ? 2 : 0) | (lower ? 1 : 0);

			if (fputs(cells[cell], out) == EOF)
				return -1;
		}
		if (fputc('\n', out) == EOF)
			return -1;
	}
	return 0;
}

int su_qr_print(FILE *out, const char *text)
{
	QRcode *qr;
	int rc;

	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (qr == NULL)
		return -1;
	rc = draw(out, qr);
	su_erase(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return rc;
}
