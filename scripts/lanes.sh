# Shared by the table scripts (sourced).
#
# Train config $2 into run directory $1 (further `semiseg train` arguments after), or resume it
# when an interrupted run left checkpoints/last.ckpt there. Uses $bin.
#   train_or_resume DIR CONFIG_NAME [--set key=value ...]
train_or_resume() {
  local out=$1 cfg=$2
  shift 2
  if [ -f "$out/checkpoints/last.ckpt" ]; then
    $bin train --resume "$out"
  else
    $bin train --config "configs/$cfg.toml" --out "$out" "$@"
  fi
}

# Run the entries of the array `jobs` through a function,
# dealt alternately to two lanes that run side by side (one thread each on a 2-core machine),
# each logging to DIR/lane-{a,b}.log. Fails when either lane fails.
#   jobs=("cfg seed" ...); two_lanes FUNCTION DIR
two_lanes() {
  local fn=$1 dir=$2 a b status=0
  _lane() {
    local i
    for ((i = $1; i < ${#jobs[@]}; i += 2)); do
      # shellcheck disable=SC2086
      $fn ${jobs[$i]}
    done
  }
  _lane 0 > "$dir/lane-a.log" 2>&1 &
  a=$!
  _lane 1 > "$dir/lane-b.log" 2>&1 &
  b=$!
  wait $a || { echo "lane a failed, see $dir/lane-a.log" >&2; status=1; }
  wait $b || { echo "lane b failed, see $dir/lane-b.log" >&2; status=1; }
  return $status
}
