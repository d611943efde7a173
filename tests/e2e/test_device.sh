#!/bin/sh
# --device and TABPIPE_DEVICE in the tools that run the model. Everywhere:
# a device name that is neither cpu nor cuda is a usage error, and
# --device cpu is the default, byte for byte. In a build without CUDA,
# --device cuda exits 69 and says so; in a CUDA build on a machine without
# a GPU, it exits 69 with the runtime's reason. With a CUDA build and a GPU
# (nvidia-smi -L succeeds), a model trains on the GPU with the CPU's loss
# curve, and its file predicts on the CPU as on the GPU.
. ./lib.sh
# Without run tracking: a tracked model carries its run id.
unset TABPIPE_DB TABPIPE_DEVICE

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
tr="$T/cd.train.tps" va="$T/cd.valid.tps" te="$T/cd.test.tps"

# One command line per tool, the device options put before it; the inputs
# exist, so a failure comes from the device and not from them.
train() {
	# shellcheck disable=SC2086 # $small holds several options
	tabpipe-train -q $small --epochs 2 --seed 5 "$@" --valid "$va" \
		-o "$T/train.out" "$tr"
}
pretrain() {
	# shellcheck disable=SC2086
	tabpipe-pretrain -q $small --epochs 1 --seed 5 "$@" -o "$T/pretrain.out" "$tr"
}
evaluate() {
	tabpipe-evaluate -q "$@" -o "$T/evaluate.out" -m "$T/cpu.model" "$te"
}
predict() {
	tabpipe-predict -q "$@" -m "$T/cpu.model" "$te"
}

# device VALUE CMD...: CMD with TABPIPE_DEVICE=VALUE in its environment
# (an assignment before a function call is not exported in every sh).
device() {
	TABPIPE_DEVICE=$1
	export TABPIPE_DEVICE
	shift
	"$@"
	set -- $?
	unset TABPIPE_DEVICE
	return "$1"
}

# The reference: every tool without a device option.
# shellcheck disable=SC2086
tabpipe-train -q $small --epochs 2 --seed 5 --valid "$va" -o "$T/cpu.model" "$tr"
# shellcheck disable=SC2086
tabpipe-pretrain -q $small --epochs 1 --seed 5 -o "$T/cpu.encoder" "$tr"
tabpipe-evaluate -q -o "$T/cpu.report" -m "$T/cpu.model" "$te"
tabpipe-predict -q -m "$T/cpu.model" "$te" >"$T/cpu.pred"

for tool in train pretrain evaluate predict; do
	run_status "$tool --device bogus exits 64" 64 $tool --device bogus
	err_has "$tool names the option and the value" "tabpipe-$tool: --device: \"bogus\" is not cpu or cuda"
	device "bogus" run_status "$tool with TABPIPE_DEVICE=bogus exits 64" 64 $tool
	err_has "$tool names the variable" "tabpipe-$tool: TABPIPE_DEVICE: \"bogus\" is not cpu or cuda"
	run_status "$tool --device cpu exits 0" 0 $tool --device cpu
	[ "$tool" = predict ] && cp "$T/out" "$T/predict.out"
	same "$tool --device cpu gives the bytes of no option" "$T/cpu.$(
		case $tool in
		train) echo model ;; pretrain) echo encoder ;;
		evaluate) echo report ;; predict) echo pred ;;
		esac)" "$T/$tool.out"
	device "cpu" run_status "$tool with TABPIPE_DEVICE=cpu exits 0" 0 $tool
	device "cuda" run_status "$tool: --device cpu overrides TABPIPE_DEVICE=cuda" 0 $tool --device cpu
	device "" run_status "$tool: an empty TABPIPE_DEVICE is the CPU" 0 $tool
done

# --serve scores on the CPU: --device cpu is taken, and a request by the
# serving contract (every feature a key, null for a missing value) scores
# as without the option; a request without every feature is refused the
# same way.
jq -c '[.columns[] | select(.kind == "numeric" or .kind == "categorical")
	| {(.name): null}] | add | .Seniority = 9 | .Home = "rent"' \
	"$T/enc.json" >"$T/requests"
echo '{"Seniority": 9, "Home": "rent"}' >>"$T/requests"
tabpipe-predict -q --serve -m "$T/cpu.model" <"$T/requests" >"$T/cpu.serve"
yes_that "a complete request is scored" test \
	"$(sed -n 1p "$T/cpu.serve" | cut -c1-22)" = '{"id":1,"probability":'
yes_that "a partial one refused" test "$(sed -n 2p "$T/cpu.serve" | sed 's/.*"code"/"code"/')" = \
	'"code":"missing_field","field":"Time"}'
run_status "predict --serve --device cpu exits 0" 0 \
	tabpipe-predict -q --serve --device cpu -m "$T/cpu.model" <"$T/requests"
same "predict --serve --device cpu gives the answers of no option" "$T/cpu.serve" "$T/out"

# What --device cuda says decides which of the checks below apply.
tabpipe-evaluate --device cuda -m "$T/none" "$T/none" >/dev/null 2>"$T/probe"
probe=$?
if grep -qF "built without CUDA" "$T/probe"; then
	build=cpu
	why="this tabpipe was built without CUDA (make CUDA=1)"
	reason="--device cuda: $why"
else
	build=cuda
	why="no GPU is present here"
	reason="--device cuda: no CUDA device: "
fi
gpu=0
if [ "$build" = cuda ] && nvidia-smi -L >/dev/null 2>&1; then
	gpu=1
fi

if [ "$gpu" -eq 0 ]; then
	for tool in train pretrain evaluate predict; do
		run_status "$tool --device cuda exits 69 ($build build)" 69 $tool --device cuda
		err_has "$tool says why" "tabpipe-$tool: $reason"
		device "cuda" run_status "$tool with TABPIPE_DEVICE=cuda exits 69" 69 $tool
		err_has "$tool says why for the variable too" "tabpipe-$tool: $reason"
	done
	# Before any input is read: a missing input would be 66.
	run_status "--device cuda is refused before the input is opened" 69 \
		tabpipe-predict --device cuda -m "$T/cpu.model" "$T/missing.tps"
	run_status "predict --serve --device cuda exits 69 too" 69 \
		tabpipe-predict --serve --device cuda -m "$T/cpu.model"
	for what in "training a model on the GPU and comparing its loss curve with the CPU's" \
	    "pretraining on the GPU" \
	    "predicting on the CPU with a GPU-trained model (within 1e-4 of the GPU)" \
	    "evaluating on the GPU"; do
		skip "$what" "$why"
	done
	exit 0
fi

# A GPU: the CUDA model against one CPU thread, which it mirrors.
if [ "$probe" -eq 66 ]; then
	ok "--device cuda opens the GPU"
else
	not_ok "--device cuda opens the GPU (exit $probe: $(cat "$T/probe"))"
fi
# shellcheck disable=SC2086
tabpipe-train $small --epochs 4 --seed 5 --threads 1 --valid "$va" \
	-o "$T/one.model" "$tr" 2>"$T/one.err"
# shellcheck disable=SC2086
run_status "train --device cuda exits 0" 0 tabpipe-train $small --epochs 4 \
	--seed 5 --threads 1 --device cuda --valid "$va" -o "$T/gpu.model" "$tr"
# The loss of each epoch, GPU and CPU side by side: float32 rounding in
# another order, carried through 4 epochs, stays far below 1e-2.
sed -n 's/.*epoch \([0-9]*\)\/[0-9]*: loss \([0-9.]*\).*/\1 \2/p' "$T/one.err" >"$T/one.loss"
sed -n 's/.*epoch \([0-9]*\)\/[0-9]*: loss \([0-9.]*\).*/\1 \2/p' "$T/err" >"$T/gpu.loss"
if [ "$(wc -l <"$T/gpu.loss")" -eq 4 ] &&
    paste "$T/one.loss" "$T/gpu.loss" | awk '
	{ d = $2 - $4; if (d < 0) d = -d; if ($1 != $3 || d > 1e-2) bad = 1 }
	END { exit bad }'; then
	ok "the GPU's loss curve is the CPU's within 1e-2"
else
	not_ok "the GPU's loss curve is the CPU's within 1e-2 ($(paste "$T/one.loss" "$T/gpu.loss" | tr '\n' ';'))"
fi
run_status "the GPU model predicts on the CPU" 0 \
	tabpipe-predict -q -m "$T/gpu.model" "$te"
cp "$T/out" "$T/gpu-on-cpu.pred"
run_status "and on the GPU" 0 \
	tabpipe-predict -q --device cuda -m "$T/gpu.model" "$te"
cp "$T/out" "$T/gpu-on-gpu.pred"
if [ -s "$T/gpu-on-cpu.pred" ] &&
    paste -d, "$T/gpu-on-cpu.pred" "$T/gpu-on-gpu.pred" | awk -F, '
	NR == 1 { next }
	{ d = $2 - $5; if (d < 0) d = -d; if ($1 != $4 || d > 1e-4) bad = 1 }
	END { exit bad }'; then
	ok "the CPU and the GPU give its probabilities within 1e-4"
else
	not_ok "the CPU and the GPU give its probabilities within 1e-4"
fi
run_status "predict --serve --device cuda exits 64" 64 \
	tabpipe-predict --serve --device cuda -m "$T/gpu.model" <"$T/requests"
err_has "serving is on the CPU" "--serve scores on the CPU: it takes no --device cuda"
run_status "evaluate --device cuda exits 0" 0 \
	tabpipe-evaluate -q --device cuda -m "$T/gpu.model" "$te"
# shellcheck disable=SC2086
run_status "pretrain --device cuda exits 0" 0 tabpipe-pretrain -q $small \
	--epochs 1 --seed 5 --device cuda -o "$T/gpu.encoder" "$tr"
# shellcheck disable=SC2086
run_status "a GPU-pretrained encoder trains on the CPU" 0 tabpipe-train -q \
	$small --epochs 1 --seed 5 --encoder "$T/gpu.encoder" --valid "$va" \
	-o "$T/enc.model" "$tr"
