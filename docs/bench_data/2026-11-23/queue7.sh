cd /work/wt/torchbench
echo -20 > /proc/$$/autogroup
L=/tmp/meas/torch7.log
echo "start $(date) $(cat /proc/loadavg)" > $L
/usr/bin/python3 bench/torch_vit.py --modes infer --impls jit,jitopt,mkldnn --cores unset,env --thread-configs 1:0,2:1,2:0:passive --reps 9 --warmup 2 --max-wait 0 --retries 1 --json-out /tmp/meas/torch7_infer.json >> $L 2>&1
echo "end $(date) $(cat /proc/loadavg)" >> $L
