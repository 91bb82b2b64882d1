#!/usr/bin/env bash
# Turns a Chorus recording (its manifest.json) into one file: the participants' cameras
# side by side (one tile per participant, up to 3 per row, each segment at its place on
# the recording's timeline, black where a camera was off), every microphone mixed.
#
#   scripts/mix-recording.sh MANIFEST [OUT]
#
# OUT defaults to mixed.mkv beside the manifest (H.264 + Opus; .mp4 works too).
# Needs ffmpeg and jq (scripts/setup.sh installs both). Screen shares get a tile of their own.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
[[ $# -ge 1 && $# -le 2 && "$1" != "-h" && "$1" != "--help" ]] || { usage >&2; exit 2; }

manifest="$1"
[[ -f "$manifest" ]] || { echo "mix-recording: no such manifest: $manifest" >&2; exit 1; }
dir="$(cd "$(dirname "$manifest")" && pwd)"
out="${2:-$dir/mixed.mkv}"
FFMPEG="${FFMPEG:-ffmpeg}"
TILE_W=640
TILE_H=360
PER_ROW=3

duration_ms="$(jq -r '.durationMs // empty' "$manifest")"
if [[ -z "$duration_ms" ]]; then # still recording: up to the end of the last segment
  duration_ms="$(jq -r '[.tracks[].segments[] | .startOffsetMs + .durationMs] | max // 0' "$manifest")"
fi
[[ "$duration_ms" -gt 0 ]] || { echo "mix-recording: the recording is empty" >&2; exit 1; }
dur="$(awk -v ms="$duration_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"

# One line per segment with media: kind<TAB>tile key<TAB>file<TAB>offset ms<TAB>duration ms.
mapfile -t segments < <(jq -r '
  .tracks[] as $t | $t.segments[] | select(.hasMedia) |
  [$t.kind, (($t.userId // $t.peerId) + (if $t.source == "screen" then "/screen" else "" end)),
   .file, (.startOffsetMs | tostring), (.durationMs | tostring)] | @tsv' "$manifest")

# Tiles in order of first appearance.
declare -A tile_of=()
tiles=0
for line in "${segments[@]}"; do
  IFS=$'\t' read -r kind key file offset length <<<"$line"
  if [[ "$kind" == video && -z "${tile_of[$key]+x}" ]]; then
    tile_of[$key]=$tiles
    tiles=$((tiles + 1))
  fi
done
cols=$(( tiles < PER_ROW ? (tiles > 0 ? tiles : 1) : PER_ROW ))
rows=$(( tiles > 0 ? (tiles + PER_ROW - 1) / PER_ROW : 1 ))
width=$((cols * TILE_W))
height=$((rows * TILE_H))

inputs=()
filters="color=c=black:s=${width}x${height}:r=30:d=${dur}[base0]"
last_video="base0"
audio_labels=""
n_audio=0
i=0
v=0
for line in "${segments[@]}"; do
  IFS=$'\t' read -r kind key file offset length <<<"$line"
  inputs+=(-i "$dir/$file")
  off="$(awk -v ms="$offset" 'BEGIN { printf "%.3f", ms / 1000 }')"
  end="$(awk -v ms="$offset" -v d="$length" 'BEGIN { printf "%.3f", (ms + d) / 1000 }')"
  if [[ "$kind" == video ]]; then
    t=${tile_of[$key]}
    x=$(( (t % PER_ROW) * TILE_W ))
    y=$(( (t / PER_ROW) * TILE_H ))
    filters+=";[$i:v]setpts=PTS-STARTPTS+${off}/TB,scale=${TILE_W}:${TILE_H}:force_original_aspect_ratio=decrease,pad=${TILE_W}:${TILE_H}:(ow-iw)/2:(oh-ih)/2[v$v]"
    filters+=";[$last_video][v$v]overlay=x=$x:y=$y:eof_action=pass:enable='between(t,$off,$end)'[base$((v + 1))]"
    last_video="base$((v + 1))"
    v=$((v + 1))
  else
    filters+=";[$i:a]aresample=48000,asetpts=PTS-STARTPTS,adelay=delays=${offset}:all=1[a$n_audio]"
    audio_labels+="[a$n_audio]"
    n_audio=$((n_audio + 1))
  fi
  i=$((i + 1))
done

if [[ $n_audio -gt 0 ]]; then
  filters+=";${audio_labels}amix=inputs=${n_audio}:duration=longest:normalize=0,apad=whole_dur=${dur}[aout]"
else
  filters+=";anullsrc=r=48000:cl=stereo,atrim=duration=${dur}[aout]"
fi

exec "$FFMPEG" -hide_banner -nostdin -loglevel error -y "${inputs[@]}" \
  -filter_complex "$filters" -map "[$last_video]" -map "[aout]" \
  -c:v libx264 -preset veryfast -crf 26 -pix_fmt yuv420p -c:a libopus -b:a 96k \
  -t "$dur" "$out"
