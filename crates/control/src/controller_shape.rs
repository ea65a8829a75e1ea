//! The controller's load shape surface (a child of `controller`, so it shares its private
//! state): attach, start, pause, resume and display a shape, and the two entry points the
//! shape driver applies points through without tripping the pause rule.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cicada_engine::Arrivals;
use cicada_scenario::shape::Shape;
use tokio::time::Instant;

use super::{ControlError, Controller, lock};
use crate::fleet::Fleet;
use crate::shape_driver::{self, ShapeOptions, ShapeRun};
use crate::shape_view::{self, ShapeStatus};

/// Load shapes (see [`crate::shape_driver`]).
impl Controller {
    /// Attaches a load shape and starts its driver, paused ("not started yet") until
    /// [`Controller::start_shape`] or [`Controller::resume_shape`]. At most one shape per
    /// controller. Must run inside a tokio runtime.
    pub fn attach_shape(&self, shape: Shape, options: ShapeOptions) -> Result<(), ControlError> {
        let run = Arc::new(ShapeRun::new(shape, options).map_err(ControlError::Shape)?);
        self.inner
            .shape
            .set(run.clone())
            .map_err(|_| ControlError::Shape("a load shape is already attached".into()))?;
        tokio::spawn(shape_driver::drive(
            run,
            self.clone(),
            self.inner.shutdown.clone(),
        ));
        Ok(())
    }

    /// Whether a load shape is attached.
    pub fn has_shape(&self) -> bool {
        self.inner.shape.get().is_some()
    }

    /// Starts steering by the shape (its clock starts at the first start), with an optional
    /// run time, as `--autostart` does.
    pub fn start_shape(&self, run_time: Option<Duration>) -> Result<(), ControlError> {
        self.resume_shape()?;
        let mut desired = lock(&self.inner.desired);
        desired.deadline = run_time.map(|t| (Instant::now() + t, SystemTime::now() + t));
        Ok(())
    }

    /// Resumes (or first starts) steering by the shape and applies it at once.
    pub fn resume_shape(&self) -> Result<(), ControlError> {
        let run = self.inner.shape.get().ok_or(ControlError::NoShape)?;
        shape_driver::resume(run, self).map_err(ControlError::Shape)
    }

    /// Pauses the shape: users stay as they are until someone changes them or resumes.
    pub fn pause_shape(&self) -> Result<(), ControlError> {
        let run = self.inner.shape.get().ok_or(ControlError::NoShape)?;
        shape_driver::pause(run, self, "paused by hand");
        Ok(())
    }

    /// The shape's state for displays, with a curve over `curve_span` of virtual time
    /// around now (`None` without a shape).
    pub fn shape_status(&self, curve_span: Duration) -> Option<ShapeStatus> {
        let run = self.inner.shape.get()?;
        let arrivals = if run.shape.is_open() {
            self.inner.fleet.arrival_counts()
        } else {
            None
        };
        Some(shape_view::status(run, curve_span, arrivals))
    }

    pub(super) fn pause_shape_for(&self, reason: &str) {
        if let Some(run) = self.inner.shape.get() {
            shape_driver::pause(run, self, reason);
        }
    }

    /// The fleet (for the shape driver's task mixes).
    pub(crate) fn fleet(&self) -> &Arc<dyn Fleet> {
        &self.inner.fleet
    }

    /// The shape's closed-model point: like [`Controller::swarm`] without pausing the shape
    /// and keeping the run time.
    pub(crate) fn shape_users(&self, users: u64, spawn_rate: f64) {
        self.inner.fleet.set_users(users, spawn_rate);
        let mut desired = lock(&self.inner.desired);
        desired.users = users;
        desired.spawn_rate = spawn_rate;
        desired.stopped = false;
        desired.started = true;
        desired.open = false;
    }

    /// The shape's open-model point. `first`: closed-model users (set by hand before) end.
    pub(crate) fn shape_arrivals(
        &self,
        arrivals: Arrivals,
        first: bool,
    ) -> Result<(), ControlError> {
        self.inner.fleet.set_arrivals(Some(arrivals))?;
        if first {
            self.inner.fleet.set_users(0, f64::INFINITY);
        }
        let mut desired = lock(&self.inner.desired);
        desired.users = 0;
        desired.stopped = false;
        desired.started = true;
        desired.open = true;
        Ok(())
    }
}
