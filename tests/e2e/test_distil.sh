#!/bin/sh
# Distillation end to end: tabpipe-train --teacher MODEL trains one model on
# the probabilities that MODEL (an ensemble here) gives each training row,
# in place of the labels. The student is one model, scored at one model's
# cost; it learns the teacher's scores, so it comes nearer to them than the
# model of the same seed trained on the labels, and it learns from rows
# that have no label, which the labels' model cannot; the teacher's bytes
# are an input of the run, recorded and signed into a checkpoint; a
# teacher of another encoding, or that is no classifier, is refused.
# The models here have no additive part: with one, teacher, student and
# the labels' model are all about the same regression, and there is
# nothing to tell apart; a student with one fits its regression to the
# teacher's probabilities, which the last check shows.
. ./lib.sh

small="--layers 1 --d-model 8 --heads 2 --d-ff 16 --head-hidden 8 --batch 128 --epochs 4 --additive none"
tabpipe-ingest -q --target Status --positive bad --fit "$T/enc.json" \
	--split 70/15/15 --seed 3 --out "$T/cd" "$DATA/credit_data.csv"
# shellcheck disable=SC2086 # $small holds several options
env -u TABPIPE_DB tabpipe-train -q $small --members 3 --seed 7 \
	--valid "$T/cd.valid.tps" -o "$T/teacher.safetensors" "$T/cd.train.tps"
# student FILE [OPTION ...]: a student of the teacher into FILE, untracked.
student() {
	out=$1
	shift
	# shellcheck disable=SC2086
	env -u TABPIPE_DB tabpipe-train $small --epochs 10 --seed 11 --teacher "$T/teacher.safetensors" \
		--valid "$T/cd.valid.tps" -o "$out" "$@" "$T/cd.train.tps"
}
run_status "--teacher trains a student" 0 student "$T/student.safetensors"
err_has "and reports its epochs" "epoch 1/10"
# members FILE: the members a model file says it holds (null: one model).
members() {
	n=$(od -A n -t u8 -N 8 "$1" | tr -d ' ')
	tail -c +9 "$1" | head -c "$n" | jq -r .__metadata__.members
}
yes_that "the teacher holds 3 members" test "$(members "$T/teacher.safetensors")" = 3
yes_that "the student is one model" test "$(members "$T/student.safetensors")" = null
# shellcheck disable=SC2086
env -u TABPIPE_DB tabpipe-train -q $small --epochs 10 --seed 11 --valid "$T/cd.valid.tps" \
	-o "$T/labels.safetensors" "$T/cd.train.tps"
differ "it is not the model the labels give" "$T/student.safetensors" "$T/labels.safetensors"
for m in teacher student labels; do
	tabpipe-predict -q -m "$T/$m.safetensors" "$T/cd.train.tps" |
		tail -n +2 | cut -d, -f2 >"$T/p.$m"
done
# The mean absolute gap between two columns of probabilities.
gap() { paste -d, "$T/p.$1" "$T/p.$2" | awk -F, '{ d = $1 - $2; s += d < 0 ? -d : d } END { printf "%.6f", s / NR }'; }
to_student=$(gap teacher student) to_labels=$(gap teacher labels)
yes_that "on the training rows it is nearer the teacher ($to_student) than the model of the labels ($to_labels)" \
	awk -v a="$to_student" -v b="$to_labels" 'BEGIN { exit !(a < b / 2) }'
student "$T/again.safetensors" 2>/dev/null
same "training it again gives the same file" "$T/student.safetensors" "$T/again.safetensors"
# Through a shuffle buffer, where the rows are not known before they come,
# the teacher scores each batch as it comes instead of each row once.
run_status "a student through a shuffle buffer" 0 student "$T/buffered.safetensors" --buffer-rows 512
tabpipe-predict -q -m "$T/buffered.safetensors" "$T/cd.train.tps" |
	tail -n +2 | cut -d, -f2 >"$T/p.buffered"
to_buffered=$(gap teacher buffered)
yes_that "is as near the teacher ($to_buffered)" \
	awk -v a="$to_buffered" -v b="$to_labels" 'BEGIN { exit !(a < b / 2) }'
# Students of one teacher as the members of an ensemble.
run_status "an ensemble of students" 0 student "$T/students.safetensors" --members 2
yes_that "holds 2 members" test "$(members "$T/students.safetensors")" = 2
tabpipe-predict -q -m "$T/students.safetensors" "$T/cd.train.tps" |
	tail -n +2 | cut -d, -f2 >"$T/p.students"
to_students=$(gap teacher students)
yes_that "as near the teacher ($to_students)" \
	awk -v a="$to_students" -v b="$to_labels" 'BEGIN { exit !(a < b / 2) }'

# The training rows with nine labels in ten taken away: the labels' model
# has a tenth of the rows to learn from, the student all of them, taught.
tabpipe-cat -q "$T/cd.train.tps" | awk -F, -v OFS=, '
	NR == 1 { for (i = 1; i <= NF; i++) if ($i == "Status") t = i; print; next }
	NR % 10 != 0 { $t = "" } { print }' >"$T/few.csv"
tabpipe-ingest -q --encoding "$T/enc.json" -o "$T/few.tps" "$T/few.csv"
# shellcheck disable=SC2086
env -u TABPIPE_DB tabpipe-train -q $small --epochs 10 --seed 11 --valid "$T/cd.valid.tps" \
	-o "$T/few.labels.safetensors" "$T/few.tps"
# shellcheck disable=SC2086
run_status "a student of a stream with few labels" 0 env -u TABPIPE_DB tabpipe-train $small \
	--epochs 10 --seed 11 --teacher "$T/teacher.safetensors" --valid "$T/cd.valid.tps" \
	-o "$T/few.student.safetensors" "$T/few.tps"
for m in few.labels few.student; do
	tabpipe-predict -q -m "$T/$m.safetensors" "$T/cd.train.tps" |
		tail -n +2 | cut -d, -f2 >"$T/p.$m"
done
to_student=$(gap teacher few.student) to_labels=$(gap teacher few.labels)
yes_that "learns from the unlabelled rows: nearer the teacher ($to_student) than the model of the few labels ($to_labels)" \
	awk -v a="$to_student" -v b="$to_labels" 'BEGIN { exit !(a < b / 2) }'
# With an additive part, whose regression the teacher's probabilities of
# every row fit, the labels of a tenth of the rows being too few.
# shellcheck disable=SC2086
run_status "a student with an additive part" 0 env -u TABPIPE_DB tabpipe-train $small \
	--additive regression --epochs 10 --seed 11 --teacher "$T/teacher.safetensors" \
	--valid "$T/cd.valid.tps" -o "$T/few.additive.safetensors" "$T/few.tps"
tabpipe-predict -q -m "$T/few.additive.safetensors" "$T/cd.train.tps" |
	tail -n +2 | cut -d, -f2 >"$T/p.few.additive"
to_additive=$(gap teacher few.additive)
yes_that "learns from them as well ($to_additive)" \
	awk -v a="$to_additive" -v b="$to_labels" 'BEGIN { exit !(a < b / 2) }'

# shellcheck disable=SC2086
run_status "a tracked run" 0 tabpipe-train -q $small --seed 11 \
	--teacher "$T/teacher.safetensors" --valid "$T/cd.valid.tps" \
	-o "$T/tracked.safetensors" "$T/cd.train.tps"
if [ -n "${TABPIPE_DB:-}" ]; then
	yes_that "records the teacher's SHA-256 among its inputs" test \
		"$(psql "$TABPIPE_DB" -X -Atqc "select inputs->>'teacher' from runs order by id desc limit 1")" = \
		"$(sha256sum "$T/teacher.safetensors" | cut -d' ' -f1)"
else
	skip "records the teacher's SHA-256 among its inputs" "no database (TABPIPE_DB)"
fi

# A checkpoint is signed with the teacher's bytes.
run_status "a student with a checkpoint" 0 student "$T/ck.safetensors" -q --checkpoint "$T/ck"
run_status "resumed from its last epoch with the same teacher" 0 student \
	"$T/resumed.safetensors" -q --checkpoint "$T/ck" --resume
same "gives the same bytes" "$T/ck.safetensors" "$T/resumed.safetensors"
cp "$T/labels.safetensors" "$T/other.safetensors"
# shellcheck disable=SC2086
run_status "resumed with another teacher exits 64" 64 env -u TABPIPE_DB tabpipe-train $small \
	--seed 11 --teacher "$T/other.safetensors" --checkpoint "$T/ck" --resume \
	--valid "$T/cd.valid.tps" -o "$T/x.safetensors" "$T/cd.train.tps"
err_has "it says why" "made by a run with other options"

tabpipe-ingest -q --target Status --positive bad --fit "$T/enc2.json" \
	--split 70/15/15 --seed 4 --out "$T/cd2" "$DATA/credit_data.csv"
# shellcheck disable=SC2086
run_status "a teacher of another encoding exits 65" 65 tabpipe-train $small \
	--teacher "$T/teacher.safetensors" --valid "$T/cd2.valid.tps" \
	-o "$T/x.safetensors" "$T/cd2.train.tps"
err_has "naming the teacher" "teacher.safetensors: a model of the encoding"
yes_that "and leaves no model file" test ! -e "$T/x.safetensors"
tabpipe-pretrain -q --layers 1 --d-model 8 --heads 2 --d-ff 16 --epochs 1 \
	-o "$T/encoder.safetensors" "$T/cd.train.tps"
# shellcheck disable=SC2086
run_status "a pretrained encoder as teacher exits 65" 65 tabpipe-train $small \
	--teacher "$T/encoder.safetensors" --valid "$T/cd.valid.tps" \
	-o "$T/x.safetensors" "$T/cd.train.tps"
err_has "naming it" "encoder.safetensors"
# shellcheck disable=SC2086
run_status "a teacher that is not there exits 66" 66 tabpipe-train $small \
	--teacher "$T/none.safetensors" --valid "$T/cd.valid.tps" \
	-o "$T/x.safetensors" "$T/cd.train.tps"
