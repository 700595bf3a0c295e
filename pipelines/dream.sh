#!/bin/bash
# pipelines/dream.sh - Deep Dream and fooling images with LeNet on
# Fashion-MNIST: conv2 dreamed on test images (dream-fmnist.png), on the
# 512x512 astronaut photograph in grey with octaves and jitter, the layers
# run over the whole image (dream-astronaut.png), and one image per class
# from noise the model takes for that class (fooling.png, labelled with
# the class the model sees and its probability).
#   pipelines/dream.sh               # trains LeNet for EPOCHS (2) unless MODEL is given
# Env: DL_BIN (programs; default bin/), OUT (dream.out), MODEL, EPOCHS.
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${DL_BIN:=$top/bin}" "${OUT:=dream.out}" "${EPOCHS:=2}" "${MODEL:=}"
PATH=$DL_BIN:$PATH
FM=/usr/share/datasets/fashion-mnist
SK=/usr/lib/python3/dist-packages/skimage/data
mkdir -p "$OUT"
cd "$OUT"
classes="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
if [ -z "$MODEL" ]; then
	dl-import idx --classes "$classes" $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz \
	    -o train.dls
	dl-cat -n "$EPOCHS" --shuffle train.dls | dl-batch -b 64 |
		dl-train -q --net 20C5-MP2-50C5-MP2-FC256-FC10 --seed 1 -o lenet.dlm
	MODEL=lenet.dlm
fi
dl-import idx --limit 16 $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz |
	dl-dream -v --layer conv2 --steps 20 --step-size 0.1 "$MODEL" |
	dl-export montage --cols 8 --normalise --zoom 3 -o dream-fmnist.png

dl-import png $SK/astronaut.png |
	dl-dream -v --layer conv2 --octaves 4 --octave-scale 1.4 --jitter 8 --steps 10 \
	    --step-size 0.01 "$MODEL" > astronaut.dls
mkdir -p astronaut
dl-export png -o astronaut < astronaut.dls
mv astronaut/000000.png dream-astronaut.png

for k in 0 1 2 3 4 5 6 7 8 9; do
	dl-dream -v --class $k --steps 200 --step-size 0.01 --clip --noise 1 --seed $k "$MODEL"
done | dl-eval --predict -q "$MODEL" | dl-export montage --cols 5 --zoom 3 --gap 6 --label p -o fooling.png
echo "dream: pictures in $OUT/dream-fmnist.png, dream-astronaut.png, fooling.png"
