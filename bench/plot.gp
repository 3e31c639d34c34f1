# plot.gp: latency (p50, p99) against offered load for chatd and the
# baseline, one fan-out topology per PNG. bench/run.sh calls it with
#   gnuplot -e "chatd='A.dat'; baseline='B.dat'; out='X.png'; label='1x1000'" bench/plot.gp
# Data columns: offered deliveries/s, p50 ms, p99 ms (written by bench/report.js).
set terminal pngcairo size 900,560 font "sans,10"
set output out
set title sprintf("fan-out %s: end-to-end latency vs offered load", label)
set xlabel "offered load (deliveries/s)"
set ylabel "latency (ms, log scale)"
set logscale y
set logscale x
set format x "%.0s%c"
set grid xtics ytics mytics
set key top left
plot chatd    using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "chatd p50", \
     chatd    using 1:3 with linespoints lw 2 pt 5 lc rgb "#1f77b4" dt 2 title "chatd p99", \
     baseline using 1:2 with linespoints lw 2 pt 7 lc rgb "#d62728" title "Node.js + ws p50", \
     baseline using 1:3 with linespoints lw 2 pt 5 lc rgb "#d62728" dt 2 title "Node.js + ws p99"
