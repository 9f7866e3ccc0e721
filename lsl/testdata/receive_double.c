/* receive_double: a liblsl inlet for the interop tests. liblsl's own
 * ReceiveDataC reads exactly 8 float channels; this reads any number of
 * double channels. Usage: receive_double TYPE NCHANNELS COUNT
 * Resolves a stream of TYPE, prints "fmt=<format> n=<channels> srate=<rate>",
 * then for each of COUNT samples "<timestamp %.9f> <values %.17g>...", then
 * "correction <seconds %.9f>" (lsl_time_correction) and exits. */
#include <lsl_c.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char *argv[]) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s TYPE NCHANNELS COUNT\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[2]), count = atoi(argv[3]), err = 0;
	if (n < 1 || n > 1024 || count < 0) return 2;
	lsl_streaminfo info;
	if (lsl_resolve_byprop(&info, 1, "type", argv[1], 1, 30.0) < 1) {
		fprintf(stderr, "no stream of type %s\n", argv[1]);
		return 1;
	}
	printf("fmt=%d n=%d srate=%g\n", (int)lsl_get_channel_format(info), lsl_get_channel_count(info),
		lsl_get_nominal_srate(info));
	lsl_inlet inlet = lsl_create_inlet(info, 360, LSL_NO_PREFERENCE, 1);
	lsl_open_stream(inlet, 30.0, &err);
	if (err) {
		fprintf(stderr, "open_stream: %d\n", err);
		return 1;
	}
	printf("open\n");
	double *v = malloc(sizeof(double) * n);
	for (int i = 0; i < count; i++) {
		double ts = lsl_pull_sample_d(inlet, v, n, 30.0, &err);
		if (err || ts == 0.0) {
			fprintf(stderr, "pull_sample: %d\n", err);
			return 1;
		}
		printf("%.9f", ts);
		for (int k = 0; k < n; k++) printf(" %.17g", v[k]);
		printf("\n");
	}
	double c = lsl_time_correction(inlet, 10.0, &err);
	printf("correction %.9f err %d\n", c, err);
	lsl_destroy_inlet(inlet);
	free(v);
	return 0;
}
