import './base.css';
import './housekeeping.css';
