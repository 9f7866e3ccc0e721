#!/bin/sh
# Remakes the test clips with Debian's ffmpeg (apt-get install ffmpeg).
# ffmpeg is needed only to remake them, not to run the tests.
#
# Each picture shows its frame number in binary as six vertical bars (bar k,
# from the left, is white when bit k is set), so a test can read back which
# frame it got. The sound is a 440 Hz sine.
set -eu
cd "$(dirname "$0")"
bars="color=c=black:s=128x72:r=25:d=2,format=gray,geq=lum='if(mod(floor(N/pow(2,floor(X*6/W))),2),235,16)'"
sine="sine=frequency=440:sample_rate=44100:duration=2"
ff="ffmpeg -hide_banner -loglevel error -y -bitexact"
v1="-c:v mpeg1video -q:v 4 -g 12 -bf 2"

# clip.mpg: 2 s, 50 frames with B-pictures, MP2 stereo at 44.1 kHz.
$ff -f lavfi -i "$bars" -f lavfi -i "$sine" $v1 -c:a mp2 -b:a 64k -ac 2 -f mpeg clip.mpg
# tiny.mpg: 32×16, 6 frames, mono MP2 at 32 kHz in small packets: the
# fuzz test's seed, and the odd formats.
tbars="color=c=black:s=32x16:r=25:d=0.24,format=gray,geq=lum='if(mod(floor(N/pow(2,floor(X*6/W))),2),235,16)'"
$ff -f lavfi -i "$tbars" -f lavfi -i "sine=frequency=440:sample_rate=32000:duration=0.24" -c:v mpeg1video -q:v 8 -g 3 -bf 1 -c:a mp2 -b:a 32k -ac 1 -packetsize 400 -f mpeg tiny.mpg
# silent.mpg: the same pictures as clip.mpg, no sound.
$ff -f lavfi -i "$bars" $v1 -an -f mpeg silent.mpg
# Files the player must refuse, each for its own reason (1 s, no more).
$ff -f lavfi -i "$bars" -t 1 -c:v mpeg2video -q:v 4 -an -f mpeg mpeg2video.mpg
$ff -f lavfi -i "$bars" -f lavfi -i "$sine" -t 1 $v1 -c:a libmp3lame -b:a 64k -f mpeg mp3sound.mpg
$ff -f lavfi -i "$bars" -f lavfi -i "$sine" -t 1 $v1 -c:a mp2 -ar 22050 -b:a 32k -f mpeg lowrate.mpg
$ff -f lavfi -i "$bars" -f lavfi -i "$sine" -t 1 -c:v mpeg2video -q:v 4 -c:a ac3 -f vob dvd.vob

# hd.mpg: 1 s at 1280×720 of ffmpeg's moving test pattern, for the decode
# benchmark.
$ff -f lavfi -i "testsrc2=s=1280x720:r=25:d=1" -c:v mpeg1video -q:v 8 -g 12 -bf 2 -an -f mpeg hd.mpg
ls -l hd.mpg
