#!/usr/bin/awk -f
# docs/results/cluttered.md from docs/results/cluttered.csv and cluttered_importance.csv
# (experiments/cluttered.sh): accuracy and FLOPs of every model as mean +- sd over seeds with
# the per-seed values, convergence, routing against importance and objects, and the claims
# table against the criteria fixed in the script, from paired per-seed differences with 95 %
# t intervals.
BEGIN { FS = "," }
FNR == 1 { file++; next }
file == 1 { # seed,model,stage,accuracy,loss,macs,steps_peak,steps_dense,final_step
    m = $2; s = $1
    if (!(m in stage)) { order[++n_models] = m; stage[m] = $3 }
    if (!(s in seen_seed)) { seen_seed[s] = 1; seeds[++n_seeds] = s }
    acc[m, s] = $4; loss[m, s] = $5; macs[m, s] = $6
    if ($7 != "") { peak_steps[m, s] = $7; dense_steps[m, s] = $8; final_step[m] = $9 }
    next
}
file == 2 { # seed,model,checkpoint,router,capacity,layer,... (see the script)
    k = $2 SUBSEP $1
    if (!($2 in imp_seen)) { imp_seen[$2] = 1; imp_order[++n_imp] = $2 }
    nl[k]++; rho[k] += $12; prec[k] += $16; rnd[k] += $19
    if ($21 != "") { obj[k] += $21; chance[k] += $24; excess[k] += $25 }
    layer_rho[$2, $6] += $12; layer_n[$2, $6]++; layer_obj[$2, $6] += $21; layer_ex[$2, $6] += $25
    if (!(($6) in layer_seen)) { layer_seen[$6] = 1; layers[++n_layers] = $6 }
}
function tq(df) { return df == 1 ? 12.706 : df == 2 ? 4.303 : df == 3 ? 3.182 : df == 4 ? 2.776 : df == 5 ? 2.571 : df < 10 ? 2.262 : 1.96 }
# mean and sd over the seeds that have a value in arr[m, seed]: MEAN, SD, CNT, VALS
function over_seeds(arr, m, scale,    i, s, v, x, c) {
    c = 0; s = 0; VALS = ""
    for (i = 1; i <= n_seeds; i++) if ((m, seeds[i]) in arr) { x[++c] = arr[m, seeds[i]] * scale; s += x[c]; VALS = VALS (c > 1 ? " " : "") sprintf("%.1f", x[c]) }
    CNT = c; MEAN = c ? s / c : 0; v = 0
    for (i = 1; i <= c; i++) v += (x[i] - MEAN) ^ 2
    SD = c > 1 ? sqrt(v / (c - 1)) : 0
}
# paired per-seed a - b of arr (times scale): PM, PLO, PHI, PN, PV
function paired(arr, a, b, scale,    i, d, m, s, v, h, k) {
    m = 0; PV = ""
    for (i = 1; i <= n_seeds; i++) {
        k = seeds[i]
        if (((a, k) in arr) && ((b, k) in arr)) { d[++m] = (arr[a, k] - arr[b, k]) * scale; PV = PV (m > 1 ? " " : "") sprintf("%+.2f", d[m]) }
    }
    PN = m; s = 0; for (i = 1; i <= m; i++) s += d[i]; PM = m ? s / m : 0
    v = 0; for (i = 1; i <= m; i++) v += (d[i] - PM) ^ 2
    h = m > 1 ? tq(m - 1) * sqrt(v / (m - 1)) / sqrt(m) : 0
    PLO = PM - h; PHI = PM + h
}
function verdict_above(lo, hi) { return lo > 0 ? "**reproduced**" : hi < 0 ? "**not reproduced**" : "inconclusive" }
function verdict_below(lo, hi) { return hi < 0 ? "**reproduced**" : lo > 0 ? "**not reproduced**" : "inconclusive" }
function claim(name, criterion, measured, verdict) { printf "| %s | %s | %s | %s |\n", name, criterion, measured, verdict }
function iv(unit) { return sprintf("%+.2f%s [%+.2f, %+.2f] (per seed %s)", PM, unit, PLO, PHI, PV) }
END {
    print (name == "cluttered" ? "# The routing claims on the cluttered image-folder testbed (issue 17)" : "# The routing claims on the 28 x 28 control, where routing should not matter (issue 17)")
    print ""
    printf "Command `%s`, commit `%s`, %s, on %s; wall time %d s.\n\n", cmd, commit, date, machine, wall
    printf "Testbed: `amod data cluttered` (seed 1): %s; MoD layers 1, 3, 5. %d training and %d validation pictures a class, object boxes in `val/boxes.csv`. ", desc, per_class, per_class / 5
    printf "Pretraining and every from-scratch run: %d epochs, batch 64, AdamW lr 2e-3 with 1 warmup epoch and cosine decay, horizontal flips (`--augment --crop-scale 1`: random crops cut the object out of the canvas). ", pre_epochs
    printf "Fine-tuning after adaptation: %d epochs, lr 5e-4, 50 warmup steps, evaluated every %d steps. ", ft_epochs, eval_steps
    printf "Accuracies are on the %d validation pictures, of the last checkpoint of each run (no selection on the reported split). Seeds: %d (model initialisation, data order, augmentation, new router weights). ", n_val, n_seeds
    print "Intervals: 95 % t intervals over the seeds of the paired per-seed differences (t with n - 1 degrees of freedom: wide with 3 seeds). Per-seed rows: `" name ".csv`, `" name "_curves.csv`, `" name "_importance.csv`."
    print ""
    print "## Accuracy and FLOPs"
    print ""
    print "| model | stage | top-1 % (mean +- sd) | per seed | MMACs / image | vs dense |"
    print "|---|---|---|---|---:|---:|"
    over_seeds(macs, "dense", 1); dense_macs = MEAN
    for (i = 1; i <= n_models; i++) {
        m = order[i]
        over_seeds(acc, m, 100); a_m = MEAN; a_s = SD; a_v = VALS
        over_seeds(macs, m, 1)
        printf "| %s | %s | %.1f +- %.1f | %s | %.2f | %.3f |\n", m, stage[m], a_m, a_s, a_v, MEAN / 1e6, dense_macs ? MEAN / dense_macs : 0
    }
    print ""
    print "CLS-only is the attention router at C = 0.01 (k = 1: the MoD layers process the CLS token alone, every patch token skips them). The layer-dropping baseline removes blocks 3 and 5 (4 blocks: no choice of whole blocks of a 6-block model comes within 2 % of the MoD FLOPs). The isoFLOP model is the dense ViT cut in width and MLP width to the MoD FLOPs (`--isoflop width-mlp`; see the MACs column). The random router scores tokens with fresh noise at every pass (Raposo et al.'s stochastic baseline)."
    print ""
    print "## Convergence of fine-tuning (A-MoD Fig. 2 and 6)"
    print ""
    print "Steps until the validation accuracy is within 2 points of the run's own peak, and within 2 points of the pretrained dense model (same seed); step 0 is the adapted model before any training. `c` marks a run that never got there (counted as the last step plus one evaluation interval). Curves of seed " seeds[1] ": `" name "_curves.png`."
    print ""
    print "| model | steps to its peak - 2 (per seed) | steps to dense - 2 (per seed) | mean steps to dense - 2 |"
    print "|---|---|---|---:|"
    for (i = 1; i <= n_models; i++) {
        m = order[i]
        if (stage[m] != "finetuned") continue
        p = ""; q = ""; s = 0; c = 0
        for (j = 1; j <= n_seeds; j++) {
            k = seeds[j]
            if (!((m, k) in peak_steps)) continue
            p = p (p == "" ? "" : " ") peak_steps[m, k]
            v = dense_steps[m, k]; cens = sub(/^censored:/, "", v)
            dsteps[m, k] = v + 0
            q = q (q == "" ? "" : " ") v (cens ? "c" : "")
            s += v; c++
        }
        printf "| %s | %s | %s | %.0f |\n", m, p, q, c ? s / c : 0
    }
    print ""
    print "## Routing against importance and objects (A-MoD Fig. 4 and 5)"
    print ""
    printf "Importance: the pretrained dense model's loss change when token t skips block l (`amod importance --measure skip --dense`), on %d validation pictures. Per MoD layer and image: Spearman's rho between router score and importance, precision@k (the share of the k most important tokens that the router keeps; a random router expects k / patches), and the share of kept patches whose centre lies on the object box beside the share of all patches that do (a random router's expectation). Means over MoD layers 1, 3, 5, then mean +- sd over seeds. Routing maps of 4 validation pictures (seed %s, fine-tuned models): `%s_routes.png`.\n\n", imp_n, seeds[1], name
    print "| checkpoint | per-image rho | precision@k (random) | kept patches on the object | random share | difference |"
    print "|---|---|---|---|---:|---|"
    for (i = 1; i <= n_imp; i++) {
        m = imp_order[i]
        for (j = 1; j <= n_seeds; j++) {
            k = m SUBSEP seeds[j]
            if (!(k in nl)) continue
            R_rho[m, seeds[j]] = rho[k] / nl[k]; R_prec[m, seeds[j]] = prec[k] / nl[k]; R_rnd[m, seeds[j]] = rnd[k] / nl[k]
            R_obj[m, seeds[j]] = obj[k] / nl[k]; R_ch[m, seeds[j]] = chance[k] / nl[k]; R_ex[m, seeds[j]] = excess[k] / nl[k]
        }
        over_seeds(R_rho, m, 1); r1 = sprintf("%.3f +- %.3f", MEAN, SD)
        over_seeds(R_prec, m, 1); r2 = sprintf("%.3f +- %.3f", MEAN, SD); over_seeds(R_rnd, m, 1); r2 = r2 sprintf(" (%.3f)", MEAN)
        over_seeds(R_obj, m, 1); r3 = sprintf("%.3f +- %.3f", MEAN, SD)
        over_seeds(R_ch, m, 1); r4 = sprintf("%.3f", MEAN)
        over_seeds(R_ex, m, 1); r5 = sprintf("%+.3f +- %.3f", MEAN, SD)
        printf "| %s | %s | %s | %s | %s | %s |\n", m, r1, r2, r3, r4, r5
    }
    print ""
    print "Per MoD layer (mean over seeds): per-image rho / kept-on-object minus random share"
    print ""
    hdr = "| checkpoint |"; sep = "|---|"
    for (j = 1; j <= n_layers; j++) { hdr = hdr " layer " layers[j] " |"; sep = sep "---|" }
    print hdr; print sep
    for (i = 1; i <= n_imp; i++) {
        m = imp_order[i]; line = "| " m " |"
        for (j = 1; j <= n_layers; j++) {
            l = layers[j]; c = layer_n[m, l]
            line = line sprintf(" %.3f / %+.3f |", c ? layer_rho[m, l] / c : 0, c ? layer_ex[m, l] / c : 0)
        }
        print line
    }
    print ""
    print "## Claims"
    print ""
    print "The criteria were fixed in the script's header before the run. Differences in accuracy are in points (percent), paired per seed."
    print ""
    print "| claim | criterion | measured: mean [95 % interval] | verdict |"
    print "|---|---|---|---|"
    paired(acc, "adapt_attention_c0.5", "adapt_linear_c0.5", 100); v = verdict_above(PLO, PHI); t3 = iv(" pt")
    paired(acc, "adapt_attention_c0.125", "adapt_linear_c0.125", 100); t3b = iv(" pt")
    claim("A-MoD Table 3: adapting a pretrained model without training, the attention router keeps more accuracy than the linear router", "A-MoD - linear at C = 0.5, interval above 0", t3 "; at C = 0.125: " t3b, v)
    paired(dsteps, "ft_attention_c0.5", "ft_linear_c0.5", 1); v = verdict_below(PLO, PHI)
    claim("A-MoD Fig. 2 / 6: A-MoD converges faster than the linear router when fine-tuning", "steps to dense - 2 points, A-MoD - linear, interval below 0", iv(" steps"), v)
    paired(acc, "scratch_attention", "scratch_linear", 100); lo1 = PLO; hi1 = PHI; m1 = iv(" pt")
    paired(acc, "scratch_attention", "scratch_isoflop", 100); lo2 = PLO; hi2 = PHI; m2 = iv(" pt")
    v = (lo1 > 0 && lo2 > 0) ? "**reproduced**" : (hi1 < 0 || hi2 < 0) ? "**not reproduced**" : "inconclusive"
    claim("A-MoD Table 1: at equal FLOPs, from scratch, A-MoD beats linear MoD and the isoFLOP dense model", "both intervals above 0", "vs linear " m1 "; vs isoFLOP " m2, v)
    paired(R_rho, "ft_attention_c0.5", "ft_linear_c0.5", 1); v = verdict_above(PLO, PHI)
    claim("A-MoD Fig. 4: A-MoD's router scores follow token importance better than the linear router's", "per-image rho, fine-tuned A-MoD - linear, interval above 0", sprintf("%+.3f [%+.3f, %+.3f] (per seed %s)", PM, PLO, PHI, PV), v)
    # against the random share: the per-seed excess paired with 0
    for (j = 1; j <= n_seeds; j++) if (("ft_attention_c0.5", seeds[j]) in R_ex) { R_exs["a", seeds[j]] = R_ex["ft_attention_c0.5", seeds[j]]; R_exs["zero", seeds[j]] = 0 }
    paired(R_exs, "a", "zero", 1); v = verdict_above(PLO, PHI); f5 = sprintf("%+.3f [%+.3f, %+.3f] (per seed %s)", PM, PLO, PHI, PV)
    over_seeds(R_ch, "ft_attention_c0.5", 1)
    if (CNT && MEAN > 0.999) v = "not applicable: the object fills the picture (the control)"
    paired(R_obj, "ft_attention_c0.5", "ft_linear_c0.5", 1); f5b = sprintf("%+.3f [%+.3f, %+.3f]", PM, PLO, PHI)
    claim("A-MoD Fig. 5: A-MoD's routing keeps the object", "fine-tuned A-MoD's kept-on-object share - the random share, interval above 0", f5 "; A-MoD - linear " f5b, v)
    paired(acc, "scratch_linear", "dense", 100)
    v = (PLO >= -1 && PHI <= 1) ? "**reproduced**" : PHI < -1 ? "**not reproduced**" : "inconclusive"
    over_seeds(macs, "scratch_linear", 1); fr = dense_macs ? MEAN / dense_macs : 0
    claim("Raposo et al.: MoD matches the dense model with fewer FLOPs", sprintf("linear MoD from scratch (%.0f %% of the FLOPs) - dense, interval within [-1, +1] points", 100 * fr), iv(" pt"), v)
    paired(acc, "ft_linear_c0.5", "ft_random_c0.5", 100); v = verdict_above(PLO, PHI)
    claim("Raposo et al.: learned routing beats stochastic routing", "fine-tuned linear - fine-tuned random router, C = 0.5, interval above 0", iv(" pt"), v)
    print ""
    print "Controls beside the claims (paired, points):"
    print ""
    paired(acc, "ft_attention_c0.5", "ft_random_c0.5", 100); print "- fine-tuned A-MoD - fine-tuned random router: " iv(" pt")
    paired(acc, "ft_attention_c0.5", "ft_cls_only", 100); print "- fine-tuned A-MoD - fine-tuned CLS-only: " iv(" pt")
    paired(acc, "ft_attention_c0.5", "ft_drop_3_5", 100); print "- fine-tuned A-MoD - fine-tuned layer-dropped model: " iv(" pt")
    paired(acc, "ft_attention_c0.5", "dense", 100); print "- fine-tuned A-MoD - pretrained dense: " iv(" pt")
    paired(acc, "adapt_attention_c0.5", "adapt_random_c0.5", 100); print "- adapted A-MoD - adapted random router (no training): " iv(" pt")
}
