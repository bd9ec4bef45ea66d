/* SPDX-License-Identifier: Apache-2.0 */
/* One long-lived process looking users up in stages, so a test can replace
 * the snapshot between stages and see this same process notice it.
 *
 *   lookup_stages FIFO STAGES NAME...
 * For each stage prints "STAGE NAME UID GECOS" (or "STAGE NAME -" when
 * getpwnam finds nothing), then, except after the last stage, waits for a
 * line on FIFO (the test's go for the next stage). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: lookup_stages FIFO STAGES NAME...\n");
		return 2;
	}
	int stages = atoi(argv[2]);
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int stage = 1; stage <= stages; stage++) {
		for (int i = 3; i < argc; i++) {
			struct passwd *pw = getpwnam(argv[i]);
			if (pw)
				printf("%d %s %u %s\n", stage, argv[i], (unsigned)pw->pw_uid, pw->pw_gecos);
			else
				printf("%d %s -\n", stage, argv[i]);
		}
		if (stage == stages)
			break;
		/* Until a line arrives: an EOF with no data is the previous
		 * stage's writer closing late, not this stage's go. */
		char line[16];
		for (int got = 0; !got;) {
			FILE *f = fopen(argv[1], "r");
			if (!f) {
				perror(argv[1]);
				return 1;
			}
			got = fgets(line, sizeof line, f) != NULL;
			fclose(f);
		}
	}
	return 0;
}
