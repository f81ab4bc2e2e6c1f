;; The all-reduce and optimizer kernels of a training step, in WebAssembly
;; with 128-bit SIMD. They run on the session's shared WebAssembly.Memory,
;; where the parameters, the optimizer state and every worker's gradient slot
;; live (see layout.ts), so each worker updates its own range in place.
;;
;; Every pointer is a byte offset into that memory and every count a number
;; of floats that is a multiple of 4; the regions are padded so that rounding
;; a range up to 4 floats only touches zeros. Arithmetic is float32, lane by
;; lane, in the same order as the scalar formulas in optimizers.ts.
;;
;; Built into update-kernels-wasm.ts by scripts/build-kernels.ts.

(module
  (import "syncgrad" "memory" (memory 1 65536 shared))

  ;; mean[i] = scale × (slot 0 + slot 1 + … + slot (slots-1))[i], slots ≥ 1,
  ;; summed in slot order; slot s starts at gradients + s × strideBytes
  (func (export "reduce")
    (param $mean i32) (param $gradients i32) (param $strideBytes i32) (param $slots i32)
    (param $count i32) (param $scale f32)
    (local $offset i32) (local $end i32) (local $slot i32) (local $address i32)
    (local $sum v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $offset) (local.get $end)))
        (local.set $address (i32.add (local.get $gradients) (local.get $offset)))
        (local.set $sum (v128.load (local.get $address)))
        (local.set $slot (i32.const 1))
        (block $slotsDone
          (loop $nextSlot
            (br_if $slotsDone (i32.ge_u (local.get $slot) (local.get $slots)))
            (local.set $address (i32.add (local.get $address) (local.get $strideBytes)))
            (local.set $sum (f32x4.add (local.get $sum) (v128.load (local.get $address))))
            (local.set $slot (i32.add (local.get $slot) (i32.const 1)))
            (br $nextSlot)))
        (v128.store
          (i32.add (local.get $mean) (local.get $offset))
          (f32x4.mul (local.get $sum) (f32x4.splat (local.get $scale))))
        (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
        (br $next))))

;; 1 when every one of `count` floats from `values` is finite, else 0: a
  ;; NaN or an infinity times zero is NaN, and NaN is the one value unequal to
  ;; itself, so one multiply-add per vector and one test at the end suffice
  (func (export "allFinite") (param $values i32) (param $count i32) (result i32)
    (local $offset i32) (local $end i32) (local $probe v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $offset) (local.get $end)))
        (local.set $probe
          (f32x4.add (local.get $probe)
            (f32x4.mul
              (v128.load (i32.add (local.get $values) (local.get $offset)))
              (f32x4.splat (f32.const 0)))))
        (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
        (br $next)))
    (i32x4.all_true (f32x4.eq (local.get $probe) (local.get $probe))))

  ;; parameters[i] -= rate × mean[i]
  (func (export "sgd")
    (param $parameters i32) (param $mean i32) (param $count i32) (param $rate f32)
    (local $offset i32) (local $end i32) (local $address i32)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $offset) (local.get $end)))
        (local.set $address (i32.add (local.get $parameters) (local.get $offset)))
        (v128.store (local.get $address)
          (f32x4.sub
            (v128.load (local.get $address))
            (f32x4.mul
              (f32x4.splat (local.get $rate))
              (v128.load (i32.add (local.get $mean) (local.get $offset))))))
        (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
        (br $next))))

  ;; velocity[i] = keep × velocity[i] + mean[i]; parameters[i] -= rate × velocity[i]
  (func (export "momentum")
    (param $parameters i32) (param $velocity i32) (param $mean i32) (param $count i32)
    (param $rate f32) (param $keep f32)
    (local $offset i32) (local $end i32) (local $address i32) (local $updated v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $offset) (local.get $end)))
        (local.set $address (i32.add (local.get $velocity) (local.get $offset)))
        (local.set $updated
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $keep)) (v128.load (local.get $address)))
            (v128.load (i32.add (local.get $mean) (local.get $offset)))))
        (v128.store (local.get $address) (local.get $updated))
        (local.set $address (i32.add (local.get $parameters) (local.get $offset)))
        (v128.store (local.get $address)
          (f32x4.sub
            (v128.load (local.get $address))
            (f32x4.mul (f32x4.splat (local.get $rate)) (local.get $updated))))
        (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
        (br $next))))

  ;; first[i]  = beta1 × first[i]  + (1 − beta1) × g
  ;; second[i] = beta2 × second[i] + (1 − beta2) × g²
  ;; parameters[i] -= stepSize × first[i] / (sqrt(second[i] × secondCorrection) + epsilon)
  ;; with g = mean[i] and stepSize = rate / (1 − beta1^step), so that
  ;; stepSize × first is the rate times the bias-corrected first moment
  (func (export "adam")
    (param $parameters i32) (param $first i32) (param $second i32) (param $mean i32)
    (param $count i32) (param $beta1 f32) (param $beta2 f32) (param $stepSize f32)
    (param $secondCorrection f32) (param $epsilon f32)
    (local $offset i32) (local $end i32) (local $address i32)
    (local $gradient v128) (local $firstMoment v128) (local $secondMoment v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $offset) (local.get $end)))
        (local.set $gradient (v128.load (i32.add (local.get $mean) (local.get $offset))))

        (local.set $address (i32.add (local.get $first) (local.get $offset)))
        (local.set $firstMoment
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $beta1)) (v128.load (local.get $address)))
            (f32x4.mul
              (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1)))
              (local.get $gradient))))
        (v128.store (local.get $address) (local.get $firstMoment))

        (local.set $address (i32.add (local.get $second) (local.get $offset)))
        (local.set $secondMoment
          (f32x4.add
            (f32x4.mul (f32x4.splat (local.get $beta2)) (v128.load (local.get $address)))
            (f32x4.mul
              (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2)))
              (f32x4.mul (local.get $gradient) (local.get $gradient)))))
        (v128.store (local.get $address) (local.get $secondMoment))

        (local.set $address (i32.add (local.get $parameters) (local.get $offset)))
        (v128.store (local.get $address)
          (f32x4.sub
            (v128.load (local.get $address))
            (f32x4.div
              (f32x4.mul (f32x4.splat (local.get $stepSize)) (local.get $firstMoment))
              (f32x4.add
                (f32x4.sqrt
                  (f32x4.mul
                    (local.get $secondMoment)
                    (f32x4.splat (local.get $secondCorrection))))
                (f32x4.splat (local.get $epsilon))))))
        (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
        (br $next))))
)
