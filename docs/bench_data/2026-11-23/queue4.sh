cd /work/wt/torchbench
echo -20 > /proc/$$/autogroup
L=/tmp/meas/torch4.log
echo "start $(date) $(cat /proc/loadavg) autogroup $(cat /proc/$$/autogroup)" > $L
/usr/bin/python3 bench/torch_vit.py --impls hand,nn --thread-configs 2:1,1:0 --max-wait 0 --retries 1 --json-out /tmp/meas/torch_main.json >> $L 2>&1
echo "phase2 $(date) $(cat /proc/loadavg)" >> $L
/usr/bin/python3 bench/torch_vit.py --rows dense --modes infer --impls jit --cores unset --thread-configs 2:1,1:0 --max-wait 0 --retries 1 --json-out /tmp/meas/torch_jit.json >> $L 2>&1
/usr/bin/python3 bench/torch_vit.py --rows dense --impls hand --cores unset --thread-configs 2:0,2:0:passive,2:1:passive --max-wait 0 --retries 1 --json-out /tmp/meas/torch_extra.json >> $L 2>&1
echo "end $(date) $(cat /proc/loadavg)" >> $L
