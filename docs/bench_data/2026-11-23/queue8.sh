cd /work/wt/torchbench
echo -20 > /proc/$$/autogroup
L=/tmp/meas/torch8.log
echo "start $(date) $(cat /proc/loadavg)" > $L
/usr/bin/python3 bench/torch_vit.py --rows mod_attention_c0500,mod_attention_c0125,mod_linear_c0500,mod_linear_c0125 --sweep-rows all --modes infer --impls jit,hand --cores unset --thread-configs 1:0,2:0:passive --reps 9 --warmup 2 --max-wait 0 --retries 1 --json-out /tmp/meas/torch8_infer.json >> $L 2>&1
/usr/bin/python3 bench/torch_vit.py --rows mod_attention_c0500,mod_attention_c0125,mod_linear_c0500,mod_linear_c0125 --sweep-rows all --modes train --impls hand,nn --cores unset --thread-configs 1:0,2:0:passive --train-reps 5 --max-wait 0 --retries 1 --json-out /tmp/meas/torch8_train.json >> $L 2>&1
echo "end $(date) $(cat /proc/loadavg)" >> $L
