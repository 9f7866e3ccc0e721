package certfp

import "testing"

func TestOf(t *testing.T) {
	got := Of([]byte("abc")) // SHA-256("abc") = ba7816bf…f20015ad
	const want = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	if got != want {
		t.Fatalf("Of(abc) = %s, want %s", got, want)
	}
}
