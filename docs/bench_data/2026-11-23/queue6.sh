cd /work/wt/torchbench
echo -20 > /proc/$$/autogroup
L=/tmp/meas/torch6.log
echo "start $(date) $(cat /proc/loadavg)" > $L
/usr/bin/python3 bench/torch_vit.py --modes infer --impls hand,nn,jit --cores unset,env --thread-configs 1:0,2:1,2:0:passive --reps 9 --warmup 2 --max-wait 0 --retries 1 --json-out /tmp/meas/torch6_infer.json >> $L 2>&1
echo "mid $(date) $(cat /proc/loadavg)" >> $L
/usr/bin/python3 bench/torch_vit.py --modes train --impls hand,nn --cores unset,env --thread-configs 1:0,2:1,2:0:passive --train-reps 5 --warmup 1 --max-wait 0 --retries 1 --json-out /tmp/meas/torch6_train.json >> $L 2>&1
echo "end $(date) $(cat /proc/loadavg)" >> $L
