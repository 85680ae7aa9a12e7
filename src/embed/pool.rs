//! Mean pooling over the real tokens and L2 normalisation.

/// The mean of `hidden` (one row per token) over the rows whose mask is
/// set, scaled to unit length. All zeros when no row counts.
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
pub(super) fn mean_pool(hidden: &[Vec<f32>], mask: &[u32]) -> Vec<f32> {
    let dims = hidden.first().map_or(0, Vec::len);
    let mut sum = vec![0f32; dims];
    let mut n = 0u32;
    for (row, &m) in hidden.iter().zip(mask) {
        if m == 0 {
            continue;
        }
        n += 1;
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
    if n > 0 {
        let n = n as f32;
        sum.iter_mut().for_each(|s| *s /= n);
    }
    normalize(&mut sum);
    sum
}

/// Scale `v` to unit length (left as is when it is all zeros).
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
pub(super) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two vectors (for unit vectors: their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_skips_masked_rows_and_normalises() {
        let hidden = vec![vec![3.0, 0.0], vec![1.0, 4.0], vec![100.0, 100.0]];
        let v = mean_pool(&hidden, &[1, 1, 0]);
        // Mean of the first two rows: (2, 2) → (1/√2, 1/√2).
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((v[0] - h).abs() < 1e-6 && (v[1] - h).abs() < 1e-6, "{v:?}");
        assert_eq!(mean_pool(&hidden, &[0, 0, 0]), vec![0.0, 0.0]);
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[0.0, 3.0]), 0.0);
    }
}
